package recipe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"

	"github.com/jailimg/jailimg/internal/readfile"
)

// fragment is an included file: the content lists of a recipe, nothing else.
type fragment struct {
	Binaries  []Binary  `yaml:"binaries"`
	Libraries []string  `yaml:"libraries"`
	Files     []File    `yaml:"files"`
	Dirs      []Dir     `yaml:"dirs"`
	Symlinks  []Symlink `yaml:"symlinks"`
	Devices   []Device  `yaml:"devices"`
}

// include reads the recipe's include: fragments and adds their entries to the
// recipe's lists. An entry for a path the recipe itself already has is
// dropped: the recipe overrides what it includes. The same entry in two
// fragments is kept once; two different entries for one path are an error.
// Every added key path keeps its origin, so errors name the fragment's file,
// line and key.
func (r *Recipe) include() error {
	if len(r.Include) == 0 {
		return nil
	}
	root, err := os.OpenRoot(filepath.Dir(r.Path))
	if err != nil {
		return r.Errorf("include", "opening the recipe directory: %v", err)
	}
	defer root.Close()
	m := newMerger(r)
	seen := map[string]bool{}
	for i, inc := range r.Include {
		key := fmt.Sprintf("include[%d]", i)
		if c := filepath.Clean(inc); inc == "" || filepath.IsAbs(inc) || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsRune(inc, 0) {
			return r.Errorf(key, "%q is not a path inside the recipe's directory", inc)
		}
		if seen[filepath.Clean(inc)] {
			return r.Errorf(key, "%q is included twice", inc)
		}
		seen[filepath.Clean(inc)] = true
		f, lines, err := readFragment(root, filepath.Join(filepath.Dir(r.Path), inc), inc)
		var inFragment *Error
		if errors.As(err, &inFragment) {
			return err
		} else if err != nil {
			return r.Errorf(key, "%v", err)
		}
		if err := m.add(f, lines); err != nil {
			return err
		}
		r.Documents = append(r.Documents, f.doc)
	}
	return nil
}

// readFragment reads and decodes the fragment at rel, under root; name is
// how errors call it.
func readFragment(root *os.Root, name, rel string) (*fragFile, map[string]int, error) {
	fh, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	data, err := readfile.Regular(fh, maxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &fragFile{name: name, doc: document(name, data)}
	lines, err := decodeDoc(name, "fragment", data, &f.fragment)
	if err != nil {
		return nil, nil, err
	}
	// Relative sources are relative to the fragment; the recipe's are to the
	// recipe. Validate still refuses any that leave the recipe's directory.
	for i, fl := range f.Files {
		if fl.Src != "" && !filepath.IsAbs(fl.Src) {
			f.Files[i].Src = filepath.Join(filepath.Dir(rel), fl.Src)
		}
	}
	return f, lines, nil
}

// fragFile is a decoded fragment and the file it came from.
type fragFile struct {
	fragment
	name string
	doc  Document
}

// Errorf returns an *Error located at key of the recipe (e.g. "workdir",
// "files[3].src"): in the recipe file itself or, for an entry added from a
// fragment, in that fragment. Later stages use it for problems they find.
func (r *Recipe) Errorf(key, format string, args ...any) *Error {
	o := r.locate(key)
	return &Error{File: o.file, Line: o.line, Key: o.key, Msg: fmt.Sprintf(format, args...)}
}

// Where names the place key (e.g. "files[3]") was written, for messages of
// later stages: "FILE:LINE: KEY", where FILE may be an included fragment.
func (r *Recipe) Where(key string) string {
	o := r.locate(key)
	if o.line > 0 {
		return fmt.Sprintf("%s:%d: %s", o.file, o.line, o.key)
	}
	return fmt.Sprintf("%s: %s", o.file, o.key)
}

// locate finds the origin of key, or of its closest parent that has one; the
// returned key is the path in the origin's file.
func (r *Recipe) locate(key string) origin {
	for k := key; k != ""; {
		if o, ok := r.origins[k]; ok {
			o.key += key[len(k):]
			return o
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return origin{file: r.Path, key: key}
}

// merger adds fragments' entries to a recipe.
type merger struct {
	r     *Recipe
	own   map[string]bool   // identities of the recipe's own entries
	added map[string]placed // identities of entries added from fragments
}

// placed is an entry added from a fragment, for comparing with later ones.
type placed struct {
	value any
	where string
}

func newMerger(r *Recipe) *merger {
	m := &merger{r: r, own: map[string]bool{}, added: map[string]placed{}}
	own(m, "binaries", r.Binaries, binaryID)
	own(m, "libraries", r.Libraries, libraryID)
	own(m, "files", r.Files, fileID)
	own(m, "dirs", r.Dirs, dirID)
	own(m, "symlinks", r.Symlinks, symlinkID)
	own(m, "devices", r.Devices, deviceID)
	return m
}

func (m *merger) add(f *fragFile, lines map[string]int) error {
	r := m.r
	for _, err := range []error{
		merge(m, f, lines, "binaries", &r.Binaries, f.Binaries, binaryID),
		merge(m, f, lines, "libraries", &r.Libraries, f.Libraries, libraryID),
		merge(m, f, lines, "files", &r.Files, f.Files, fileID),
		merge(m, f, lines, "dirs", &r.Dirs, f.Dirs, dirID),
		merge(m, f, lines, "symlinks", &r.Symlinks, f.Symlinks, symlinkID),
		merge(m, f, lines, "devices", &r.Devices, f.Devices, deviceID),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func own[T any](m *merger, list string, entries []T, id func(T) string) {
	for _, e := range entries {
		m.own[list+" "+id(e)] = true
	}
}

// merge appends to dst the entries of src (list in fragment f) that the
// recipe does not have yet, and records where each came from.
func merge[T any](m *merger, f *fragFile, lines map[string]int, list string, dst *[]T, src []T, id func(T) string) error {
	for i, e := range src {
		ident := list + " " + id(e)
		from := fmt.Sprintf("%s[%d]", list, i)
		here := origin{file: f.name, line: lines[from], key: from}
		if m.own[ident] {
			continue // the recipe's own entry wins
		}
		if prev, ok := m.added[ident]; ok {
			if reflect.DeepEqual(prev.value, e) {
				continue
			}
			return &Error{File: here.file, Line: here.line, Key: here.key, Msg: "conflicts with " + prev.where}
		}
		to := fmt.Sprintf("%s[%d]", list, len(*dst))
		for k, l := range lines {
			if rest, ok := strings.CutPrefix(k, from); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				m.r.origins[to+rest] = origin{file: f.name, line: l, key: k}
			}
		}
		m.added[ident] = placed{value: e, where: fmt.Sprintf("%s:%d: %s", here.file, here.line, here.key)}
		*dst = append(*dst, e)
	}
	return nil
}

func binaryID(b Binary) string   { return filepath.Clean(b.Path) }
func libraryID(l string) string  { return l }
func fileID(f File) string       { return filepath.Clean(f.Dst) }
func dirID(d Dir) string         { return filepath.Clean(d.Path) }
func symlinkID(s Symlink) string { return filepath.Clean(s.Path) }

// deviceID is the node's path, for the short form ("null") too.
func deviceID(d Device) string {
	if safe, ok := safeDevices[d.Name]; ok {
		return safe.Path
	}
	return filepath.Clean(d.Path)
}
