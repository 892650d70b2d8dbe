// Package dpkg reads the dpkg database of a root file system: the installed
// packages (var/lib/dpkg/status) and the files each one owns
// (var/lib/dpkg/info/*.list), so that a jail built from that root can name
// the Debian packages its files come from.
//
// A jail keeps the packages' files and drops their database. Vulnerability
// scanners (trivy, grype, syft) find a distroless image's packages in one
// status paragraph per package under var/lib/dpkg/status.d/; StatusD writes
// those for the packages a jail uses.
//
// Every file is read with a size limit, and a malformed database is an error
// that names the file and line.
package dpkg

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/jailimg/jailimg/internal/readfile"
)

// Paths of the database inside the root.
const (
	StatusFile = "var/lib/dpkg/status"
	InfoDir    = "var/lib/dpkg/info"
	// StatusDir is where a jail keeps one status paragraph per package.
	StatusDir = "var/lib/dpkg/status.d"
)

// Limits on what Open reads.
const (
	maxStatus = 64 << 20 // var/lib/dpkg/status
	maxList   = 16 << 20 // one info/*.list
)

// Package is one installed package.
type Package struct {
	// Name, Architecture and Version are the paragraph's fields.
	Name, Architecture, Version string
	// Paragraph is the package's paragraph of the status file, ending in a
	// newline, without its Conffiles field (the host's configuration
	// checksums, which say nothing about the jail).
	Paragraph string
	// key is the name of the package's .list file, without ".list":
	// NAME, or NAME:ARCH for a Multi-Arch: same package.
	key string
}

// DB is the dpkg database of a root.
type DB struct {
	pkgs  map[string]*Package // by key
	files []owned             // every path of every .list, as listed
	canon func(dir string) string
}

// owned is one line of a .list file: dir and base name, and the package.
type owned struct{ dir, base, key string }

// Open reads the database of fsys. canon maps a directory of the root to
// the path it resolves to (so /lib/x86_64-linux-gnu, on a merged-/usr
// system, to /usr/lib/x86_64-linux-gnu); Owners matches the paths packages
// list through it.
func Open(fsys fs.FS, canon func(dir string) string) (*DB, error) {
	db := &DB{pkgs: map[string]*Package{}, canon: canon}
	status, err := readLimited(fsys, StatusFile, maxStatus)
	if err != nil {
		return nil, err
	}
	paras, err := paragraphs(StatusFile, status)
	if err != nil {
		return nil, err
	}
	byName := map[string][]*Package{}
	for _, p := range paras {
		if !strings.HasSuffix(p.fields["Status"], " installed") {
			continue
		}
		pkg := &Package{Name: p.fields["Package"], Architecture: p.fields["Architecture"], Version: p.fields["Version"], Paragraph: p.text}
		byName[pkg.Name] = append(byName[pkg.Name], pkg)
	}
	lists, err := fs.Glob(fsys, InfoDir+"/*.list")
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		key := strings.TrimSuffix(path.Base(l), ".list")
		name, arch, _ := strings.Cut(key, ":")
		pkg := find(byName[name], arch)
		if pkg == nil {
			continue // a package removed but not purged, or a stray file
		}
		pkg.key = key
		db.pkgs[key] = pkg
		data, err := readLimited(fsys, l, maxList)
		if err != nil {
			return nil, err
		}
		for _, p := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(p, "/") || p == "/." {
				continue
			}
			dir, base := path.Split(path.Clean(p))
			db.files = append(db.files, owned{dir: path.Clean(dir), base: base, key: key})
		}
	}
	return db, nil
}

// find picks the package of that architecture among same-named ones or,
// for a .list file without one, the only package of that name.
func find(pkgs []*Package, arch string) *Package {
	if arch == "" {
		if len(pkgs) == 1 {
			return pkgs[0]
		}
		return nil
	}
	for _, p := range pkgs {
		if p.Architecture == arch {
			return p
		}
	}
	return nil
}

// Owners returns the packages owning any of paths (real paths inside the
// root), sorted by .list name, each once. Only listed paths whose base
// name is wanted have their directory resolved.
func (db *DB) Owners(paths []string) []*Package {
	want := map[string]bool{}
	bases := map[string]bool{}
	for _, p := range paths {
		want[p] = true
		bases[path.Base(p)] = true
	}
	canonDir := map[string]string{}
	seen := map[string]bool{}
	var out []*Package
	for _, f := range db.files {
		if !bases[f.base] || seen[f.key] {
			continue
		}
		c, ok := canonDir[f.dir]
		if !ok {
			c = db.canon(f.dir)
			canonDir[f.dir] = c
		}
		if want[path.Join(c, f.base)] {
			seen[f.key] = true
			out = append(out, db.pkgs[f.key])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// StatusD returns the files of a status.d directory for pkgs: path (under
// StatusDir, named after the package's .list file) to content.
func StatusD(pkgs []*Package) map[string]string {
	out := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		out["/"+StatusDir+"/"+p.key] = p.Paragraph
	}
	return out
}

func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readfile.Regular(f, limit)
	if err != nil {
		return nil, fmt.Errorf("/%s: %w", name, err)
	}
	return data, nil
}

// paragraph is one stanza of a deb822 file: its fields, and its text
// without the Conffiles field.
type paragraph struct {
	fields map[string]string
	text   string
}

// paragraphs splits a deb822 file into paragraphs. name is for errors.
func paragraphs(name string, data []byte) ([]paragraph, error) {
	var out []paragraph
	cur := paragraph{fields: map[string]string{}}
	var text strings.Builder
	field, skip := "", false
	flush := func() {
		if len(cur.fields) > 0 {
			cur.text = text.String()
			out = append(out, cur)
		}
		cur, field, skip = paragraph{fields: map[string]string{}}, "", false
		text.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			continue
		case line[0] == ' ' || line[0] == '\t':
			if field == "" {
				return nil, fmt.Errorf("/%s:%d: continuation line outside a field", name, n)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || k == "" {
				return nil, fmt.Errorf("/%s:%d: not a \"Field: value\" line", name, n)
			}
			field, skip = k, k == "Conffiles"
			cur.fields[k] = strings.TrimSpace(v)
		}
		if !skip {
			text.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("/%s: %w", name, err)
	}
	flush()
	return out, nil
}
