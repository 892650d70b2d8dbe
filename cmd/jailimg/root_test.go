package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestOnlyCommand: the words that name one subcommand build only it; help,
// completion, a mistyped name or no name build the whole tree.
func TestOnlyCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for the whole tree
	}{
		{[]string{"unpack", "L", "T"}, "unpack"},
		{[]string{"-q", "unpack", "L", "T"}, "unpack"},
		{[]string{"--verbose", "run", "--", "T"}, "run"},
		{[]string{"verify-signature", "--key", "k", "L"}, "verify-signature"},
		{[]string{"help", "unpack"}, ""},
		{[]string{"--help", "unpack"}, ""},
		{[]string{"unpack", "-h"}, ""},
		{[]string{"-q", "build", "--help=true"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"__complete", "unp"}, ""},
		{[]string{"unpak", "L", "T"}, ""},
		{[]string{"-vq", "--quiet=false", "unpack", "L", "T"}, "unpack"},
		{[]string{"--", "unpack"}, ""},
		{[]string{"--bogus", "unpack", "run", "x"}, ""}, // cobra reads "unpack" as --bogus's value
		{[]string{"-x", "unpack"}, ""},
		{[]string{"-q"}, ""},
		{nil, ""},
	} {
		root := newRoot(tc.args...)
		var names []string
		for _, c := range root.Commands() {
			names = append(names, c.Name())
		}
		if tc.want != "" && !slices.Equal(names, []string{tc.want}) {
			t.Errorf("newRoot(%q) has %v, want only %s", tc.args, names, tc.want)
		}
		if tc.want == "" && len(names) != len(commands) {
			t.Errorf("newRoot(%q) has %v, want all %d commands", tc.args, names, len(commands))
		}
	}
}

// TestOnlyCommandSameFlags: a subcommand built alone is the one the whole
// tree holds: the same name, usage and flags.
func TestOnlyCommandSameFlags(t *testing.T) {
	full := map[string]*cobra.Command{}
	for _, c := range newRoot().Commands() {
		full[c.Name()] = c
	}
	for _, c := range commands {
		alone := newRoot(c.name).Commands()
		if len(alone) != 1 || full[c.name] == nil {
			t.Fatalf("%s: built alone %d commands; in the whole tree: %v", c.name, len(alone), full[c.name] != nil)
		}
		if got, want := describeCmd(alone[0]), describeCmd(full[c.name]); got != want {
			t.Errorf("%s built alone differs from the whole tree's:\n%s\nwant\n%s", c.name, got, want)
		}
	}
}

// describeCmd is a command's use line and flags, for comparing.
func describeCmd(c *cobra.Command) string {
	s := c.UseLine() + "\n"
	c.Flags().VisitAll(func(f *pflag.Flag) {
		s += fmt.Sprintf("--%s -%s %s %q %q\n", f.Name, f.Shorthand, f.Value.Type(), f.DefValue, f.Usage)
	})
	return s
}
