// Package dpkg reads the dpkg database of a root file system: the installed
// packages (var/lib/dpkg/status) and the files each one owns
// (var/lib/dpkg/info/*.list), so that a jail built from that root can name
// the Debian packages its files come from.
//
// A jail keeps the packages' files and drops their database. Vulnerability
// scanners (trivy, grype, syft) find a distroless image's packages in one
// status paragraph per package under var/lib/dpkg/status.d/; StatusD writes
// those for the packages a jail uses. FromControl makes such a package from
// the control file of a .deb, for jails built from Debian packages rather
// than from a root's installed ones; Paragraphs reads any file in dpkg's
// control format (apt's indexes and Release files among them). ValidName
// and ValidVersion check the syntax of package names and versions, for the
// recipe's packages: and the lock file alike.
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
	paras, err := Paragraphs(StatusFile, status)
	if err != nil {
		return nil, err
	}
	byName := map[string][]*Package{}
	for _, p := range paras {
		if !strings.HasSuffix(p.Fields["Status"], " installed") {
			continue
		}
		pkg := &Package{Name: p.Fields["Package"], Architecture: p.Fields["Architecture"], Version: p.Fields["Version"], Paragraph: p.Text}
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
	return Unique(db.OwnerOf(paths))
}

// OwnerOf returns the package owning each of paths (real paths inside the
// root) that a package lists.
func (db *DB) OwnerOf(paths []string) map[string]*Package {
	want := map[string]bool{}
	bases := map[string]bool{}
	for _, p := range paths {
		want[p] = true
		bases[path.Base(p)] = true
	}
	canonDir := map[string]string{}
	out := map[string]*Package{}
	for _, f := range db.files {
		if !bases[f.base] {
			continue
		}
		c, ok := canonDir[f.dir]
		if !ok {
			c = db.canon(f.dir)
			canonDir[f.dir] = c
		}
		if p := path.Join(c, f.base); want[p] && out[p] == nil {
			out[p] = db.pkgs[f.key]
		}
	}
	return out
}

// Unique returns the packages of an owner map, sorted by the name of their
// .list file (status.d's name for them), each once.
func Unique(owners map[string]*Package) []*Package {
	seen := map[string]bool{}
	var out []*Package
	for _, p := range owners {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
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

// Paragraph is one stanza of a deb822 file (dpkg's control format: the
// status file, a package's control file, apt's Packages and Release).
type Paragraph struct {
	// Fields maps each field name to its value: the first line without
	// surrounding space, then each continuation line, less its leading
	// space, after a newline ("SHA256:\n HASH SIZE NAME" gives
	// "\nHASH SIZE NAME").
	Fields map[string]string
	// Text is the paragraph as written, ending in a newline, without its
	// Conffiles field (the host's configuration checksums).
	Text string
	// Line is the 1-based line of its first field.
	Line int
}

// Paragraphs splits a deb822 file into paragraphs: blank lines separate
// them, a line starting with a space or tab continues the field before it,
// a line starting with "#" is a comment (apt's sources files use them).
// name is for errors, which give the line: a continuation line outside a
// field, a line that is not "Field: value", a line over 1 MiB.
func Paragraphs(name string, data []byte) ([]Paragraph, error) {
	p := paraParser{name: name}
	p.reset()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := p.line(n, sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("/%s: %w", name, err)
	}
	p.flush()
	return p.out, nil
}

// paraParser is the state of Paragraphs.
type paraParser struct {
	name  string
	out   []Paragraph
	cur   Paragraph
	text  strings.Builder
	field string
	skip  bool // in the Conffiles field, left out of Text
}

func (p *paraParser) reset() {
	p.cur, p.field, p.skip = Paragraph{Fields: map[string]string{}}, "", false
	p.text.Reset()
}

func (p *paraParser) flush() {
	if len(p.cur.Fields) > 0 {
		p.cur.Text = p.text.String()
		p.out = append(p.out, p.cur)
	}
	p.reset()
}

// line reads line n.
func (p *paraParser) line(n int, line string) error {
	switch {
	case strings.TrimSpace(line) == "":
		p.flush()
		return nil
	case line[0] == '#':
		return nil
	case line[0] == ' ' || line[0] == '\t':
		if p.field == "" {
			return fmt.Errorf("/%s:%d: continuation line outside a field", p.name, n)
		}
		p.cur.Fields[p.field] += "\n" + line[1:]
	default:
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			return fmt.Errorf("/%s:%d: not a \"Field: value\" line", p.name, n)
		}
		if len(p.cur.Fields) == 0 {
			p.cur.Line = n
		}
		p.field, p.skip = k, k == "Conffiles"
		p.cur.Fields[k] = strings.TrimSpace(v)
	}
	if !p.skip {
		p.text.WriteString(line + "\n")
	}
	return nil
}

// FromControl returns the package the control file of a .deb describes
// (name is for errors), as dpkg records it once installed: its paragraph
// with "Status: install ok installed" after the Package field, named in
// StatusD after NAME, or NAME:ARCH for a Multi-Arch: same package, as its
// .list file would be. The control file must hold one paragraph with
// Package, Version and Architecture fields.
func FromControl(name string, control []byte) (*Package, error) {
	paras, err := Paragraphs(name, control)
	if err != nil {
		return nil, err
	}
	if len(paras) != 1 {
		return nil, fmt.Errorf("/%s: %d paragraphs, want 1", name, len(paras))
	}
	f := paras[0].Fields
	for _, k := range []string{"Package", "Version", "Architecture"} {
		if f[k] == "" || strings.ContainsAny(f[k], "\n/") {
			return nil, fmt.Errorf("/%s: field %s is %q", name, k, f[k])
		}
	}
	pkg := &Package{Name: f["Package"], Architecture: f["Architecture"], Version: f["Version"], key: f["Package"]}
	if f["Multi-Arch"] == "same" {
		pkg.key += ":" + pkg.Architecture
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(paras[0].Text, "\n") {
		b.WriteString(line)
		if strings.HasPrefix(line, "Package:") {
			b.WriteString("Status: install ok installed\n")
		}
	}
	pkg.Paragraph = b.String()
	return pkg, nil
}
