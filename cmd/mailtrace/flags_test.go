package main

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestParseFlags checks the one way every command reads its command line:
// flags anywhere among the arguments, "--" ending them.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		json    bool
		format  string
		logs    []string
		rest    []string
		wantErr error
	}{
		{name: "flags after the argument", args: []string{"ID", "--json"}, json: true, rest: []string{"ID"}},
		{name: "flags before the argument", args: []string{"--json", "ID"}, json: true, rest: []string{"ID"}},
		{name: "value flag after the argument", args: []string{"SELECT 1", "--format", "csv"}, format: "csv", rest: []string{"SELECT 1"}},
		{name: "value flag with =", args: []string{"SELECT 1", "--format=csv"}, format: "csv", rest: []string{"SELECT 1"}},
		{name: "single dash", args: []string{"-format", "csv", "-json", "a"}, format: "csv", json: true, rest: []string{"a"}},
		{name: "flags between arguments", args: []string{"a", "--format", "json", "b", "--json", "c"}, format: "json", json: true, rest: []string{"a", "b", "c"}},
		{name: "bool flag does not take the next argument", args: []string{"--json", "a", "b"}, json: true, rest: []string{"a", "b"}},
		{name: "bool flag with =false", args: []string{"--json=false", "a"}, rest: []string{"a"}},
		{name: "repeated flag keeps every value", args: []string{"--log", "a.log", "x", "--log", "b.log"}, logs: []string{"a.log", "b.log"}, rest: []string{"x"}},
		{name: "value that starts with a dash", args: []string{"--format", "-odd", "a"}, format: "-odd", rest: []string{"a"}},
		{name: "double dash ends flags", args: []string{"--json", "--", "-ERR no such user", "--format", "csv"}, json: true, rest: []string{"-ERR no such user", "--format", "csv"}},
		{name: "double dash first", args: []string{"--", "--json"}, rest: []string{"--json"}},
		{name: "double dash as a flag's value", args: []string{"--format", "--", "a"}, format: "--", rest: []string{"a"}},
		{name: "dash alone is an argument", args: []string{"-", "--format", "csv"}, format: "csv", rest: []string{"-"}},
		{name: "no arguments", args: nil},
		{name: "unknown flag after the argument", args: []string{"ID", "--bogus"}, wantErr: errUsage},
		{name: "unknown flag before the argument", args: []string{"--bogus", "ID"}, wantErr: errUsage},
		{name: "missing value", args: []string{"ID", "--format"}, wantErr: errUsage},
		{name: "help after the argument", args: []string{"ID", "-h"}, wantErr: errHelp},
		{name: "help", args: []string{"--help"}, wantErr: errHelp},
		{name: "help after double dash is an argument", args: []string{"--", "-h"}, rest: []string{"-h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			asJSON := fs.Bool("json", false, "")
			format := fs.String("format", "", "")
			var logs stringList
			fs.Var(&logs, "log", "")
			err := parseFlags(fs, tt.args, io.Discard)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("parseFlags(%q): error %v, want %v", tt.args, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			rest := fs.Args()
			if len(rest) == 0 {
				rest = nil
			}
			if *asJSON != tt.json || *format != tt.format || !reflect.DeepEqual([]string(logs), tt.logs) || !reflect.DeepEqual(rest, tt.rest) {
				t.Errorf("parseFlags(%q): json %v, format %q, logs %q, args %q; want %v, %q, %q, %q",
					tt.args, *asJSON, *format, logs, rest, tt.json, tt.format, tt.logs, tt.rest)
			}
		})
	}
}

func TestSplitGlobal(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		globals []string
		rest    []string
		wantErr string
	}{
		{name: "none", args: []string{"trace", "ID"}, rest: []string{"trace", "ID"}},
		{name: "config before the command", args: []string{"--config", "x.yaml", "trace", "ID", "--json"},
			globals: []string{"--config", "x.yaml"}, rest: []string{"trace", "ID", "--json"}},
		{name: "every global, = and single dash", args: []string{"--store=chdb:///s", "-chdb-library", "/l.so", "--log-level", "debug", "sql", "q"},
			globals: []string{"--store=chdb:///s", "-chdb-library", "/l.so", "--log-level", "debug"}, rest: []string{"sql", "q"}},
		{name: "version flag", args: []string{"--config", "x", "--version"}, globals: []string{"--config", "x"}, rest: []string{"--version"}},
		{name: "help", args: []string{"-h"}, rest: []string{"-h"}},
		{name: "a command's own flag before the command", args: []string{"--json", "trace", "ID"}, wantErr: "only --config, --store, --chdb-library, --log-level may come before it"},
		{name: "global without its value", args: []string{"--config"}, wantErr: "needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			globals, rest, err := splitGlobal(tt.args)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("splitGlobal(%q): error %v, want a usage error with %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(globals, tt.globals) || !reflect.DeepEqual(rest, tt.rest) {
				t.Errorf("splitGlobal(%q) = %q, %q, %v; want %q, %q", tt.args, globals, rest, err, tt.globals, tt.rest)
			}
		})
	}
}

// Every global flag is one that every command takes.
func TestGlobalFlagsAreCommon(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var c common
	c.register(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n != len(globalFlags) {
		t.Errorf("common registers %d flags, globalFlags lists %d", n, len(globalFlags))
	}
	for _, g := range globalFlags {
		if fs.Lookup(g) == nil {
			t.Errorf("global flag --%s is not one of the common flags", g)
		}
	}
}
