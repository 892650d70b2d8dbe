package unpack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The oracle is a small model of OCI layer semantics written for the tests,
// sharing no code with the applier: a map from path to node, and per layer
// first the layer's whiteouts and opaque markers, resolved in the tree the
// lower layers left and hiding what is there, then the layer's other
// entries in order. A symlink in a parent directory is followed as chroot
// would (".." stops at the root, an absolute target starts there); a
// missing directory is created 0755, owned by root, with no mtime to
// compare. It is more lenient than the applier (which refuses what it
// cannot do safely or cannot do the same whatever the entry order): when
// the applier succeeds, the two must agree.

// onode is a path of the oracle's tree. Hardlinked paths share one *onode.
type onode struct {
	typ          byte // 'd', 'f', 'l', 'c', 'b'
	mode         int64
	uid, gid     int
	mtime        time.Time
	known        bool // mtime comes from a header
	body         string
	link         string
	major, minor int64
}

type oracle map[string]*onode

var errOracle = errors.New("oracle cannot apply")

func newOracle() oracle { return oracle{"": {typ: 'd', mode: 0o755}} }

// layers applies each tar stream in turn.
func (o oracle) layers(tars ...[]byte) error {
	for i, tb := range tars {
		if err := o.layer(tb); err != nil {
			return fmt.Errorf("oracle, layer %d: %w", i, err)
		}
	}
	return nil
}

type oentry struct {
	h    *tar.Header
	name string
	body string
}

func (o oracle) layer(tb []byte) error {
	tr := tar.NewReader(bytes.NewReader(tb))
	var ents []oentry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeXGlobalHeader {
			ents = append(ents, oentry{h, strings.TrimPrefix(filepath.Clean("/"+h.Name), "/"), string(b)})
		}
	}
	// Whiteouts first, all resolved in the lower tree.
	var hide []string
	for _, e := range ents {
		dir, base := filepath.Split(e.name)
		if !strings.HasPrefix(base, ".wh.") {
			continue
		}
		real, err := o.real(dir, false)
		if err != nil {
			continue // nothing there to hide
		}
		if base == ".wh..wh..opq" {
			for p := range o {
				if p != real && o.parentOf(p) == real {
					hide = append(hide, p)
				}
			}
		} else {
			hide = append(hide, ojoin(real, base[len(".wh."):]))
		}
	}
	for _, p := range hide {
		o.del(p)
	}
	for _, e := range ents {
		if _, base := filepath.Split(e.name); !strings.HasPrefix(base, ".wh.") {
			if err := o.put(e); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	return nil
}

func ojoin(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

func (o oracle) parentOf(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i]
	}
	return ""
}

// del removes p and everything below it.
func (o oracle) del(p string) {
	for k := range o {
		if k == p || strings.HasPrefix(k, p+"/") {
			delete(o, k)
		}
	}
}

// real returns the path of the directory dir once its symlinks are
// followed inside the root, creating what is missing when create is set.
func (o oracle) real(dir string, create bool) (string, error) {
	todo := strings.Split(dir, "/")
	var at []string
	for links := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			if len(at) > 0 {
				at = at[:len(at)-1]
			}
			continue
		}
		p := strings.Join(append(at[:len(at):len(at)], c), "/")
		n := o[p]
		switch {
		case n == nil && !create:
			return "", fmt.Errorf("%w: %s missing", errOracle, p)
		case n == nil:
			o[p] = &onode{typ: 'd', mode: 0o755}
			at = append(at, c)
		case n.typ == 'd':
			at = append(at, c)
		case n.typ == 'l':
			if links++; links > 40 {
				return "", fmt.Errorf("%w: symlink loop", errOracle)
			}
			if strings.HasPrefix(n.link, "/") {
				at = nil
			}
			todo = append(strings.Split(n.link, "/"), todo...)
		default:
			return "", fmt.Errorf("%w: %s is not a directory", errOracle, p)
		}
	}
	return strings.Join(at, "/"), nil
}

// oracleMode is the mode an entry gets: the header's permission bits
// (setuid and setgid are refused by the policy, not here), less o+w on a
// regular file or a directory without the sticky bit (the jail's rule that
// nothing is world-writable, which unpack applies to foreign images).
func oracleMode(h *tar.Header) int64 {
	m := h.Mode & 0o7777
	switch {
	case h.Typeflag == tar.TypeReg, h.Typeflag == tar.TypeDir && m&0o1000 == 0:
		m &^= 0o002
	}
	return m
}

// put applies one entry that is not a whiteout.
func (o oracle) put(e oentry) error {
	h := e.h
	n := &onode{mode: oracleMode(h), uid: h.Uid, gid: h.Gid, mtime: h.ModTime, known: true}
	if e.name == "" {
		o[""].mode, o[""].uid, o[""].gid, o[""].mtime, o[""].known = n.mode, n.uid, n.gid, n.mtime, true
		return nil
	}
	var target *onode
	if h.Typeflag == tar.TypeLink {
		tdir, tbase := filepath.Split(strings.TrimPrefix(filepath.Clean("/"+h.Linkname), "/"))
		treal, err := o.real(tdir, false)
		if err != nil {
			return err
		}
		if target = o[ojoin(treal, tbase)]; target == nil || target.typ != 'f' {
			return fmt.Errorf("%w: hardlink target", errOracle)
		}
	}
	dir, base := filepath.Split(e.name)
	real, err := o.real(dir, true)
	if err != nil {
		return err
	}
	p := ojoin(real, base)
	if old := o[p]; old != nil && old.typ == 'd' && h.Typeflag == tar.TypeDir {
		old.mode, old.uid, old.gid, old.mtime, old.known = n.mode, n.uid, n.gid, n.mtime, true
		return nil
	}
	o.del(p)
	switch h.Typeflag {
	case tar.TypeDir:
		n.typ = 'd'
	case tar.TypeReg:
		n.typ, n.body = 'f', e.body
	case tar.TypeSymlink:
		n.typ, n.link = 'l', h.Linkname
	case tar.TypeChar, tar.TypeBlock:
		n.typ, n.major, n.minor = 'c', h.Devmajor, h.Devminor
		if h.Typeflag == tar.TypeBlock {
			n.typ = 'b'
		}
	case tar.TypeLink:
		for _, q := range o {
			if q == target {
				o[p] = target
				return nil
			}
		}
		return fmt.Errorf("%w: hardlink target removed by its own entry", errOracle)
	default:
		return fmt.Errorf("%w: type %q", errOracle, h.Typeflag)
	}
	o[p] = n
	return nil
}

// treeEntry describes one path for comparisons; mtime is -1 when unknown
// and group names the first path (in sort order) of a set of hardlinks.
// peek is a short file's contents, to show, not to compare.
type treeEntry struct {
	typ          byte
	mode         int64
	uid, gid     int
	mtime        int64
	size         int
	sum          [32]byte
	link         string
	major, minor int64
	group        string
	peek         string
}

// withBody sets a file's size, sum and peek.
func (e treeEntry) withBody(body string) treeEntry {
	e.size, e.sum = len(body), sha256.Sum256([]byte(body))
	if len(body) < 40 {
		e.peek = body
	}
	return e
}

func (e treeEntry) String() string {
	s := fmt.Sprintf("%c %04o %d:%d", e.typ, e.mode, e.uid, e.gid)
	if e.typ == 'l' {
		s = fmt.Sprintf("l %d:%d -> %s", e.uid, e.gid, e.link)
	}
	switch e.typ {
	case 'f':
		s += fmt.Sprintf(" %d bytes sha256:%x", e.size, e.sum)
		if e.peek != "" {
			s += fmt.Sprintf(" %q", e.peek)
		}
	case 'c', 'b':
		s += fmt.Sprintf(" %d:%d", e.major, e.minor)
	}
	if e.group != "" {
		s += " hardlink of " + e.group
	}
	if e.mtime >= 0 {
		s += fmt.Sprintf(" mtime %d", e.mtime)
	}
	return s
}

// tree is the oracle's tree in comparable form.
func (o oracle) tree() map[string]treeEntry {
	out := map[string]treeEntry{}
	groups := map[*onode][]string{}
	for p, n := range o {
		e := treeEntry{typ: n.typ, mode: n.mode, uid: n.uid, gid: n.gid, mtime: -1, link: n.link, major: n.major, minor: n.minor}
		if n.known {
			e.mtime = n.mtime.UnixNano()
		}
		if n.typ == 'l' {
			e.mode = 0
		}
		if n.typ == 'f' {
			e = e.withBody(n.body)
			groups[n] = append(groups[n], p)
		}
		out[p] = e
	}
	setGroups(out, groups)
	return out
}

func setGroups[K comparable](out map[string]treeEntry, groups map[K][]string) {
	for _, ps := range groups {
		if len(ps) < 2 {
			continue
		}
		sort.Strings(ps)
		for _, p := range ps {
			e := out[p]
			e.group = ps[0]
			out[p] = e
		}
	}
}

// diskTree reads the tree below root in the form of oracle.tree. It walks
// by descriptor, so that no path length limits it.
func diskTree(t testing.TB, root string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	groups := map[[2]uint64][]string{}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := readTree(fd, ".", "", out, groups); err != nil {
		t.Fatalf("reading %s: %v", root, err)
	}
	setGroups(out, groups)
	return out
}

// readTree adds dfd/name (rel in the tree) and what is below it to out; it
// closes dfd when name is ".". It makes system calls itself rather than
// through package os, which costs the fuzzer a third of its speed.
func readTree(dfd int, name, rel string, out map[string]treeEntry, groups map[[2]uint64][]string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	e := treeEntry{mode: int64(st.Mode & 0o7777), uid: int(st.Uid), gid: int(st.Gid), mtime: st.Mtim.Nano()}
	var err error
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e.typ = 'd'
		err = readDir(dfd, name, rel, out, groups)
	case unix.S_IFREG:
		e.typ = 'f'
		var body string
		body, err = readAt(dfd, name)
		e = e.withBody(body)
		key := [2]uint64{st.Dev, st.Ino}
		groups[key] = append(groups[key], rel)
	case unix.S_IFLNK:
		e.typ, e.mode = 'l', 0
		buf := make([]byte, 4096)
		n, lerr := unix.Readlinkat(dfd, name, buf)
		e.link, err = string(buf[:max(n, 0)]), lerr
	case unix.S_IFCHR, unix.S_IFBLK:
		e.typ = 'c'
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			e.typ = 'b'
		}
		e.major, e.minor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	default:
		e.typ = '?'
	}
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	out[rel] = e
	return nil
}

// readDir adds what is below the directory dfd/name to out (see readTree).
func readDir(dfd int, name, rel string, out map[string]treeEntry, groups map[[2]uint64][]string) error {
	fd := dfd
	if name != "." {
		var err error
		if fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
			return err
		}
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	for _, n := range names {
		if err := readTree(fd, n, ojoin(rel, n), out, groups); err != nil {
			return err
		}
	}
	return nil
}

// readAt reads the regular file dfd/name.
func readAt(dfd int, name string) (string, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var b []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			return "", err
		}
		if n <= 0 {
			return string(b), nil
		}
		b = append(b, buf[:n]...)
	}
}

// modelTree is the applier's model m in the form of oracle.tree.
func modelTree(m *model) map[string]treeEntry {
	out := map[string]treeEntry{}
	groups := map[*inode][]string{}
	for p, n := range m.nodes {
		e := treeEntry{typ: n.typ, mode: int64(n.mode), uid: n.uid, gid: n.gid, mtime: -1, size: int(n.size),
			link: n.link, major: int64(n.major), minor: int64(n.minor)}
		if n.hasTime {
			e.mtime = n.mtime.UnixNano()
		}
		if n.sum != nil {
			e.sum = *n.sum
		}
		if n.typ == 'l' {
			e.mode = 0
		}
		out[p] = e
		if n.typ == 'f' {
			groups[n] = append(groups[n], p)
		}
	}
	setGroups(out, groups)
	return out
}

var asRoot = os.Geteuid() == 0

// treeDiff compares got with want: an mtime want does not know is not
// compared, nor are owners unless running as root. With loose set (for
// umoci, which leaves the mtime of a directory it changed later as it
// falls), no mtime is compared and only the type of a directory want
// created implicitly is.
func treeDiff(want, got map[string]treeEntry, loose bool) string {
	var lines []string
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			lines = append(lines, fmt.Sprintf("missing /%s (%s)", p, w))
			continue
		}
		implicit := w.typ == 'd' && w.mtime < 0
		if w.mtime < 0 || loose {
			g.mtime, w.mtime = -1, -1
		}
		if !asRoot {
			g.uid, g.gid = w.uid, w.gid
		}
		if loose && implicit && g.typ == 'd' {
			g = w
		}
		g.peek, w.peek = "", ""
		if g != w {
			lines = append(lines, fmt.Sprintf("/%s: want %s\n    got %s", p, w, g))
		}
	}
	return withExtra(lines, want, got)
}
