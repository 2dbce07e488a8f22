package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// How every command reads its command line: flags may come before, between
// and after the arguments (`mailtrace trace ID --json` and `mailtrace trace
// --json ID` are the same), `--` ends the flags (what follows is an
// argument even when it starts with "-"), and the global flags may also
// come before the command's name (`mailtrace --config FILE trace ID`).

// globalFlags are the flags every command takes (see common.register),
// which may therefore also be given before the command's name.
var globalFlags = []string{"config", "store", "chdb-library", "log-level"}

// parseFlags parses a command's flags wherever they stand among its
// arguments; fs.Args() are then the arguments in their order. After -h it
// returns errHelp, which ends the command successfully; a flag the
// command does not have is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	var flags, positional []string
	missingValue := false // the last flag lacks its value: fs.Parse says so
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a) // "-" alone names standard input
			continue
		}
		flags = append(flags, a)
		if takesValue(fs, a) {
			if i+1 == len(args) {
				missingValue = true
				break
			}
			i++
			flags = append(flags, args[i])
		}
	}
	// The flag package stops at "--" and leaves the rest as arguments.
	if !missingValue {
		flags = append(append(flags, "--"), positional...)
	}
	if err := fs.Parse(flags); err != nil {
		if err == flag.ErrHelp {
			return errHelp
		}
		return fmt.Errorf("%w: %v (see mailtrace %s -h)", errUsage, err, fs.Name())
	}
	return nil
}

// takesValue tells whether arg is a flag of fs written without "=" whose
// value is the next argument. Unknown flags take none: fs.Parse refuses
// them.
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// splitGlobal takes the global flags given before the command's name: it
// returns them, and the command's name with its own arguments.
func splitGlobal(args []string) (globals, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' || a == "--version" || a == "-h" || a == "-help" || a == "--help" {
			return globals, args[i:], nil
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !isGlobal(name) {
			return nil, nil, fmt.Errorf("%w: flag %s before the command: only --%s may come before it; a command's own flags follow its name (mailtrace COMMAND -h lists them)",
				errUsage, a, strings.Join(globalFlags, ", --"))
		}
		globals = append(globals, a)
		if !hasValue {
			if i+1 == len(args) {
				return nil, nil, fmt.Errorf("%w: flag %s needs a value", errUsage, a)
			}
			i++
			globals = append(globals, args[i])
		}
	}
	return globals, nil, nil
}

func isGlobal(name string) bool {
	for _, g := range globalFlags {
		if name == g {
			return true
		}
	}
	return false
}
