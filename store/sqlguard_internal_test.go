package store

import (
	"context"
	"strings"
	"testing"
)

func TestParseASTDump(t *testing.T) {
	tests := []struct {
		name, dump, wantErr string
	}{
		{"a tree", "SelectWithUnionQuery (children 1)\n ExpressionList (children 2)\n  Literal UInt64_1 (alias a b)\n  Function plus (children 1)\n   ExpressionList", ""},
		{"fewer children than declared", "SelectWithUnionQuery (children 2)\n ExpressionList", "declares 2 children and has 1"},
		{"more children than declared", "ExpressionList (children 1)\n Literal 1\n Literal 2", "declares 1 children and has 2"},
		{"children where none are declared", "ExpressionList\n Literal 1", "declares 0 children and has 1"},
		{"a leaf with children", "Identifier x (children 1)\n Literal 1", "Identifier with children"},
		{"an indentation jump", "ExpressionList (children 1)\n   Literal 1", "indentation"},
		{"two roots", "Literal 1\nLiteral 2", "indentation"},
		{"an empty line", "ExpressionList (children 1)\n ", "empty node"},
		{"a bad count", "ExpressionList (children x)\n Literal 1", "children count"},
		// A line break in an alias of a leaf: the rest prints as lines
		// of their own, which cannot be children of a leaf nor siblings.
		{"an alias with a line break, as a child", "ExpressionList (children 1)\n Literal UInt64_1 (alias a) (children 1)\n  Function numbers)", "Literal with children"},
		{"an alias with a line break, as a sibling", "ExpressionList (children 1)\n Literal UInt64_1 (alias a\n Function file)", "declares 1 children and has 2"},
		// In the name of a node with children: the last injected line
		// carries the real count, and the real children follow it.
		{"a function name with a line break", "ExpressionList (children 1)\n Function f\n  Function numbers (children 1)\n  ExpressionList", "could not be read"},
		{"no dump", "", "no parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			if tt.dump != "" {
				lines = strings.Split(tt.dump, "\n")
			}
			root, err := parseASTDump(lines)
			if tt.wantErr == "" {
				if err != nil || root == nil {
					t.Fatalf("parseASTDump: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseASTDump = %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
	root, _ := parseASTDump(strings.Split("ExpressionList (children 2)\n Function plus (alias p (alias q)) (children 1)\n  ExpressionList\n TableIdentifier mailtrace.kv (alias k)", "\n"))
	if f := root.children[0]; f.kind != "Function" || f.name != "plus (alias p" {
		t.Errorf("function read as %s %q", f.kind, f.name)
	}
	if tb := root.children[1]; tb.kind != "TableIdentifier" || tb.name != "mailtrace.kv" {
		t.Errorf("table read as %s %q", tb.kind, tb.name)
	}
}

func TestCheckFunction(t *testing.T) {
	tests := []struct {
		name   string
		ok     bool
		reason string
	}{
		{"count", true, ""},
		{"COUNT", true, ""},
		{"sumIf", true, ""},
		{"uniqArrayIfOrNull", true, ""},
		{"quantilesExactIf", true, ""},
		{"lambda", true, ""},
		{"exists", true, ""},
		{"version", true, ""},
		{"currentDatabase", true, ""},
		{"DATABASE", true, ""},
		{"file", false, "function file() reads files on the server"},
		{"FILE", false, "function FILE() reads files"},
		{"hostname", false, "function hostname() tells about the server"},
		{"HostName", false, "function HostName() tells about the server"},
		{"user", false, "function user() tells about the server"},
		{"dictGetString", false, "reads a dictionary"},
		{"__getScalar", false, "is internal"},
		{"fileIf", false, "not one mailtrace sql knows"},
		{"noSuchThing", false, "not one mailtrace sql knows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := functions().checkFunction(tt.name)
			if ok != tt.ok || !strings.Contains(reason, tt.reason) {
				t.Errorf("checkFunction(%s) = %v, %q; want %v, %q", tt.name, ok, reason, tt.ok, tt.reason)
			}
		})
	}
	for _, name := range []string{"numbers", "values", "generateSeries"} {
		if ok, why := functions().checkTableFunction(name); !ok {
			t.Errorf("table function %s refused: %s", name, why)
		}
	}
	for name, want := range map[string]string{"file": "reads files", "URL": "reaches other hosts", "zeros": "read-only mode", "nope": "not one mailtrace sql allows"} {
		if ok, why := functions().checkTableFunction(name); ok || !strings.Contains(why, want) {
			t.Errorf("checkTableFunction(%s) = %v, %q; want a refusal saying %q", name, ok, why, want)
		}
	}
}

// treeDump is an explainer that answers with a fixed query tree.
type treeDump []string

func (d treeDump) explain(context.Context, string) ([]string, error) { return d, nil }

func TestCheckSettings(t *testing.T) {
	limits := DefaultSQLLimits()
	limits.MaxThreads = 4
	tests := []struct {
		name    string
		dump    []string
		sets    int
		wantErr string
	}{
		{"allowed", []string{"QUERY id: 0", "      SETTINGS max_threads=2 join_use_nulls=1", "  SETTINGS session_timezone=Europe/Berlin"}, 2, ""},
		{"a setting that is not open", []string{"QUERY id: 0", "  SETTINGS max_threads=1 max_execution_time=0"}, 1, "SETTINGS max_execution_time: this setting is not open"},
		{"max_threads above the cap", []string{"QUERY id: 0", "  SETTINGS max_threads=5"}, 1, "SETTINGS max_threads = 5: this value is not taken"},
		{"a word without a value", []string{"QUERY id: 0", "  SETTINGS session_timezone=a b"}, 1, "SETTINGS b:"},
		{"a clause the tree does not show", []string{"QUERY id: 0", "  SETTINGS max_threads=1"}, 2, "found 1 of 2"},
		{"more clauses than the parse", []string{"QUERY id: 0", "  SETTINGS max_threads=1", "  SETTINGS max_threads=1"}, 1, "found 2 of 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &sqlQuery{limits: limits}
			err := q.checkSettings(context.Background(), treeDump(tt.dump), "SELECT 1", tt.sets)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkSettings = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
