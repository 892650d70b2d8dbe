package trace

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jailimg/jailimg/internal/lazyre"
	"github.com/jailimg/jailimg/pkg/resolve"
)

// plain matches paths that are safe as plain YAML scalars, in flow
// mappings too.
var plain = lazyre.New(`^/[A-Za-z0-9/._+@%=~-]*$`)

// quote writes s as a YAML scalar: plain when that is unambiguous, else
// double-quoted with escapes YAML reads back to the same string.
func quote(s string) string {
	if plain().MatchString(s) {
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
	y := &yamlWriter{w: bufio.NewWriter(w)}
	y.header(f.Argv)
	y.list("binaries", f.Binaries, "  - %[1]s\n")
	y.list("libraries", f.Libraries, "  - %[1]s\n")
	y.list("files", f.Files, "  - {src: %[1]s, dst: %[1]s}\n")
	y.symlinks(f.Symlinks)
	y.dirs(f.Dirs)
	y.devices(f.Devices)
	y.hostSpecific(f.HostSpecific)
	y.generated(f.Generated)
	y.missing(f.Missing)
	y.missingLibraries(f.MissingLibraries)
	y.notes(f.Notes)
	return y.w.Flush()
}

// yamlWriter writes a fragment's sections, setting aside the paths YAML
// cannot carry.
type yamlWriter struct {
	w   *bufio.Writer
	bad []string // paths left out, not valid UTF-8
}

func (y *yamlWriter) p(format string, args ...any) { fmt.Fprintf(y.w, format, args...) }

// ok reports whether s can be written in YAML, setting it aside if not.
func (y *yamlWriter) ok(s string) bool {
	if !utf8.ValidString(s) {
		y.bad = append(y.bad, s)
		return false
	}
	return true
}

// section starts the recipe key of a list of n entries, if any.
func (y *yamlWriter) section(key string, n int) {
	if n > 0 {
		y.p("%s:\n", key)
	}
}

func (y *yamlWriter) header(argv []string) {
	var args []string
	for _, a := range argv {
		args = append(args, comment(a))
	}
	y.p("# jailimg trace -- %s\n", strings.Join(args, " "))
	y.p("# Recipe fragment: list this file under a recipe's include: (the recipe's own entries win).\n")
}

// list writes a list of paths, each quoted into format.
func (y *yamlWriter) list(key string, paths []string, format string) {
	y.section(key, len(paths))
	for _, s := range paths {
		if y.ok(s) {
			y.p(format, quote(s))
		}
	}
}

func (y *yamlWriter) symlinks(links []resolve.Link) {
	y.section("symlinks", len(links))
	for _, l := range links {
		if y.ok(l.Path) && y.ok(l.Target) {
			y.p("  - {path: %s, target: %s}\n", quote(l.Path), quote(l.Target))
		}
	}
}

func (y *yamlWriter) dirs(dirs []Dir) {
	y.section("dirs", len(dirs))
	for _, d := range dirs {
		if !y.ok(d.Path) {
			continue
		}
		y.p("  - {path: %s}", quote(d.Path))
		if len(d.Written) > 0 {
			y.p("  # written: %s (make it writable by the service's user, and list it in run: as runtime, state, cache or logs)", comment(strings.Join(d.Written, " ")))
		}
		y.p("\n")
	}
}

// devices writes the safe-table devices by name and lists the others in
// comments.
func (y *yamlWriter) devices(devs []Device) {
	var safe, other []Device
	for _, d := range devs {
		if d.Name != "" {
			safe = append(safe, d)
		} else {
			other = append(other, d)
		}
	}
	y.section("devices", len(safe))
	for _, d := range safe {
		y.p("  - %s\n", d.Name)
	}
	if len(other) > 0 {
		y.p("# Device nodes opened that are outside the safe table (unpack refuses them without --allow-device):\n")
		for _, d := range other {
			y.p("#   - {path: %s, type: %s, major: %d, minor: %d}\n", comment(d.Path), d.Type, d.Major, d.Minor)
		}
	}
}

// hostSpecific lists the paths outside the system directories, for the
// user to map.
func (y *yamlWriter) hostSpecific(paths []string) {
	if len(paths) > 0 {
		y.p("# Read at host-specific paths, outside the system directories, and not copied: map each one\n")
		y.p("# to where the jail should have it (files: - {src: HOST-PATH, dst: JAIL-PATH}), or leave it out:\n")
		for _, p := range paths {
			y.p("#   %s\n", comment(p))
		}
	}
}

func (y *yamlWriter) generated(gen []Generated) {
	if len(gen) > 0 {
		y.p("# Read, but written by the build from recipe keys (never copied from the host):\n")
		for _, g := range gen {
			y.p("#   %s  (declare %s)\n", comment(g.Path), g.Key)
		}
	}
}

func (y *yamlWriter) missing(missing []Record) {
	if len(missing) > 0 {
		y.p("# Tried and not found (%s):\n", "ENOENT/ENOTDIR")
		for _, m := range missing {
			by := ""
			if m.Exe != "" {
				by = " by " + comment(m.Exe)
			}
			y.p("#   %s  (%s%s)\n", comment(m.Path), m.Kind, by)
		}
	}
}

func (y *yamlWriter) missingLibraries(libs []LibraryMiss) {
	if len(libs) > 0 {
		y.p("# Shared objects not found (add the library to libraries:, or install it on the host):\n")
		for _, l := range libs {
			y.p("#   %s\n", comment(l.String()))
		}
	}
}

// notes lists the paths left out, then the fragment's notes.
func (y *yamlWriter) notes(notes []string) {
	for _, s := range y.bad {
		y.p("# Left out, not valid UTF-8: %s\n", comment(s))
	}
	for _, n := range notes {
		y.p("# Note: %s\n", comment(n))
	}
}
