// Package lock reads and writes the lock file of a recipe with packages:
// the exact Debian packages its jail is built from, so that the same recipe
// and lock build the same image on any machine.
//
// The lock is JSON, beside the recipe (recipes/nginx-pkg.yaml locks into
// recipes/nginx-pkg.lock.json): the architecture, the recipe's packages:
// as they were when it was made, and for every package of their closure its
// name, version, architecture, the SHA256 and size of its .deb, and where
// apt found it (URL and suite). Write gives the same bytes for the same
// lock: packages sorted by name, two-space indentation, a final newline.
//
// Parse is strict, as a lock is input a build trusts for its hashes: at
// most 4 MiB, one JSON document, no unknown field, every field checked
// (names and versions as Debian policy allows them, a 64-digit lowercase
// SHA256, an http or https URL, no package twice). Errors name the file
// and the field ("nginx.lock.json: packages[3].sha256: ...").
//
// Check compares a lock with the recipe it is read for: a recipe whose
// packages: or architecture changed since is a *StaleError naming what
// changed; jailimg lock --update writes a new lock.
package lock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/internal/lazyre"
	"github.com/jailimg/jailimg/internal/readfile"
	"github.com/jailimg/jailimg/pkg/dpkg"
)

// Format is the lock format this package writes and reads.
const Format = 1

// maxSize is the largest lock file read.
const maxSize = 4 << 20

// Lock is a recipe's lock file.
type Lock struct {
	// Format is the lock format, 1.
	Format int `json:"lockFormat"`
	// Architecture is the Debian architecture the packages were resolved for.
	Architecture string `json:"architecture"`
	// Requests are the recipe's packages: when the lock was made.
	Requests []string `json:"requests"`
	// Packages is the closure of the requests, sorted by name.
	Packages []Package `json:"packages"`
}

// Package is one locked Debian package.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	// SHA256 and Size are the .deb's, from the signed index.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// URL and Suite say where apt found it.
	URL   string `json:"url"`
	Suite string `json:"suite"`
}

// Ref is the package as apt names one version: NAME=VERSION.
func (p Package) Ref() string { return p.Name + "=" + p.Version }

// Path returns the lock file of the recipe at recipePath: its name with the
// .yaml or .yml suffix replaced by .lock.json.
func Path(recipePath string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(recipePath, ".yaml"), ".yml")
	return base + ".lock.json"
}

// Error is a malformed lock file.
type Error struct {
	File string
	Key  string // "packages[3].sha256"; "" for the whole file
	Err  error
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.File, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Read reads and parses the lock file at path.
func Read(path string) (*Lock, error) {
	f, err := readfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readfile.Regular(f, maxSize)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return Parse(path, data)
}

// Parse decodes and checks a lock; name is for errors.
func Parse(name string, data []byte) (*Lock, error) {
	if len(data) > maxSize {
		return nil, &Error{File: name, Err: fmt.Errorf("more than %d bytes", maxSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, &Error{File: name, Err: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Err: errors.New("more than one JSON document")}
	}
	if err := l.validate(name); err != nil {
		return nil, err
	}
	return &l, nil
}

var (
	archRE   = lazyre.New(`^[a-z0-9][a-z0-9-]{0,31}$`)
	sha256RE = lazyre.New(`^[0-9a-f]{64}$`)
)

// validate checks every field.
func (l *Lock) validate(name string) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: name, Key: key, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case l.Format != Format:
		return bad("lockFormat", "%d, want %d (a lock from another jailimg version: jailimg lock --update)", l.Format, Format)
	case !archRE().MatchString(l.Architecture):
		return bad("architecture", "%q is not a Debian architecture", l.Architecture)
	case len(l.Requests) == 0:
		return bad("requests", "empty")
	case len(l.Packages) == 0:
		return bad("packages", "empty")
	}
	for i, r := range l.Requests {
		if name, ver, pinned := strings.Cut(r, "="); !dpkg.ValidName(name) || pinned && !dpkg.ValidVersion(ver) {
			return bad(fmt.Sprintf("requests[%d]", i), "%q is not NAME or NAME=VERSION", r)
		}
	}
	seen := map[string]bool{}
	for i, p := range l.Packages {
		if err := p.validate(); err != nil {
			return bad(fmt.Sprintf("packages[%d]", i)+err.key, "%v", err.err)
		}
		if seen[p.Name] {
			return bad(fmt.Sprintf("packages[%d].name", i), "%s is locked twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

type fieldError struct {
	key string
	err error
}

func (p Package) validate() *fieldError {
	bad := func(key, format string, args ...any) *fieldError {
		return &fieldError{key: "." + key, err: fmt.Errorf(format, args...)}
	}
	switch {
	case !dpkg.ValidName(p.Name):
		return bad("name", "%q is not a Debian package name", p.Name)
	case !dpkg.ValidVersion(p.Version):
		return bad("version", "%q is not a Debian version", p.Version)
	case !archRE().MatchString(p.Architecture):
		return bad("architecture", "%q is not a Debian architecture", p.Architecture)
	case !sha256RE().MatchString(p.SHA256):
		return bad("sha256", "%q is not 64 lowercase hexadecimal digits", p.SHA256)
	case p.Size <= 0 || p.Size > 8<<30:
		return bad("size", "%d is not a .deb's size (1 byte to 8 GiB)", p.Size)
	case len(p.Suite) > 256 || strings.ContainsFunc(p.Suite, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return bad("suite", "%q is not a suite name", p.Suite)
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(p.URL) > 4096 {
		return bad("url", "%q is not an http or https URL", p.URL)
	}
	return nil
}

// Marshal returns the lock's bytes: packages sorted by name, indented.
func (l *Lock) Marshal() ([]byte, error) {
	c := *l
	c.Packages = slices.Clone(l.Packages)
	slices.SortFunc(c.Packages, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Write writes the lock to path: to a temporary file beside it, renamed
// into place.
func (l *Lock) Write(path string) error {
	b, err := l.Marshal()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// StaleError is a lock made for other packages: or another architecture
// than the recipe now asks for.
type StaleError struct {
	File    string
	Changes []string // what changed, e.g. "nginx-light=1.22.1-9+deb12u9 added"
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s no longer matches the recipe: %s (jailimg lock --update writes a new one)", e.File, strings.Join(e.Changes, "; "))
}

// Check returns a *StaleError when the lock, read from file, was not made
// for requests (the recipe's packages:) and arch, or does not lock what
// they ask for.
func (l *Lock) Check(file string, requests []string, arch string) error {
	var changes []string
	if arch != l.Architecture {
		changes = append(changes, fmt.Sprintf("architecture %s, locked for %s", arch, l.Architecture))
	}
	locked := byName(l.Requests)
	asked := byName(requests)
	for _, r := range requests {
		name, _, _ := strings.Cut(r, "=")
		switch was, ok := locked[name]; {
		case !ok:
			changes = append(changes, r+" added")
		case was != r:
			changes = append(changes, fmt.Sprintf("%s (locked as %s)", r, was))
		}
	}
	for _, r := range l.Requests {
		if name, _, _ := strings.Cut(r, "="); asked[name] == "" {
			changes = append(changes, r+" removed")
		}
	}
	changes = append(changes, l.unlocked(requests)...)
	if len(changes) > 0 {
		return &StaleError{File: file, Changes: changes}
	}
	return nil
}

// unlocked lists the requests the lock's packages do not meet: a name not
// locked, or locked at another version than pinned.
func (l *Lock) unlocked(requests []string) []string {
	var out []string
	for _, r := range requests {
		name, ver, pinned := strings.Cut(r, "=")
		i := slices.IndexFunc(l.Packages, func(p Package) bool { return p.Name == name })
		switch {
		case i < 0:
			out = append(out, name+" is not among the locked packages")
		case pinned && l.Packages[i].Version != ver:
			out = append(out, fmt.Sprintf("%s is locked at %s", r, l.Packages[i].Version))
		}
	}
	return out
}

func byName(reqs []string) map[string]string {
	m := map[string]string{}
	for _, r := range reqs {
		name, _, _ := strings.Cut(r, "=")
		m[name] = r
	}
	return m
}
