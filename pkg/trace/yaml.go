package trace

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// plain matches paths that are safe as plain YAML scalars, in flow
// mappings too.
var plain = regexp.MustCompile(`^/[A-Za-z0-9/._+@%=~-]*$`)

// quote writes s as a YAML scalar: plain when that is unambiguous, else
// double-quoted with escapes YAML reads back to the same string.
func quote(s string) string {
	if plain.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

// comment makes s safe inside a YAML comment (one line, printable).
func comment(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s {
		return s
	}
	return q
}

// WriteYAML writes the fragment as recipe YAML: the recipe keys, sorted,
// followed by comments listing what a recipe gets some other way (devices
// outside the safe table, files the build generates) and the paths that
// were tried and not found. Paths that are not valid UTF-8 cannot be
// written in YAML and are listed in a comment instead.
func (f *Fragment) WriteYAML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	var args []string
	for _, a := range f.Argv {
		args = append(args, comment(a))
	}
	p("# jailimg trace -- %s\n", strings.Join(args, " "))
	p("# Recipe fragment: list this file under a recipe's include: (the recipe's own entries win).\n")
	var bad []string
	ok := func(s string) bool {
		if !utf8.ValidString(s) {
			bad = append(bad, s)
			return false
		}
		return true
	}
	section := func(key string, n int) {
		if n > 0 {
			p("%s:\n", key)
		}
	}
	section("binaries", len(f.Binaries))
	for _, s := range f.Binaries {
		if ok(s) {
			p("  - %s\n", quote(s))
		}
	}
	section("libraries", len(f.Libraries))
	for _, s := range f.Libraries {
		if ok(s) {
			p("  - %s\n", quote(s))
		}
	}
	section("files", len(f.Files))
	for _, s := range f.Files {
		if ok(s) {
			p("  - {src: %s, dst: %s}\n", quote(s), quote(s))
		}
	}
	section("symlinks", len(f.Symlinks))
	for _, l := range f.Symlinks {
		if ok(l.Path) && ok(l.Target) {
			p("  - {path: %s, target: %s}\n", quote(l.Path), quote(l.Target))
		}
	}
	section("dirs", len(f.Dirs))
	for _, d := range f.Dirs {
		if !ok(d.Path) {
			continue
		}
		p("  - {path: %s}", quote(d.Path))
		if len(d.Written) > 0 {
			p("  # written: %s (make it writable by the service's user, and list it in run.writable)", comment(strings.Join(d.Written, " ")))
		}
		p("\n")
	}
	var safe, other []Device
	for _, d := range f.Devices {
		if d.Name != "" {
			safe = append(safe, d)
		} else {
			other = append(other, d)
		}
	}
	section("devices", len(safe))
	for _, d := range safe {
		p("  - %s\n", d.Name)
	}
	if len(other) > 0 {
		p("# Device nodes opened that are outside the safe table (unpack refuses them without --allow-device):\n")
		for _, d := range other {
			p("#   - {path: %s, type: %s, major: %d, minor: %d}\n", comment(d.Path), d.Type, d.Major, d.Minor)
		}
	}
	if len(f.Generated) > 0 {
		p("# Read, but written by the build from recipe keys (never copied from the host):\n")
		for _, g := range f.Generated {
			p("#   %s  (declare %s)\n", comment(g.Path), g.Key)
		}
	}
	if len(f.Missing) > 0 {
		p("# Tried and not found (%s):\n", "ENOENT/ENOTDIR")
		for _, m := range f.Missing {
			by := ""
			if m.Exe != "" {
				by = " by " + comment(m.Exe)
			}
			p("#   %s  (%s%s)\n", comment(m.Path), m.Kind, by)
		}
	}
	for _, s := range bad {
		p("# Left out, not valid UTF-8: %s\n", comment(s))
	}
	for _, n := range f.Notes {
		p("# Note: %s\n", comment(n))
	}
	return bw.Flush()
}
