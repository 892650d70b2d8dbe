package sysroot

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/jailimg/jailimg/internal/readfile"
	"github.com/jailimg/jailimg/internal/rmtree"
	"github.com/jailimg/jailimg/pkg/deb"
	"github.com/jailimg/jailimg/pkg/dpkg"
	"github.com/jailimg/jailimg/pkg/lock"
)

// rootFormat changes whenever extraction changes what a root holds, so
// that roots extracted by an older jailimg are not used.
const rootFormat = "jailimg-sysroot-1"

// maxIndex bounds the owners file of a cached root.
const maxIndex = 256 << 20

// Root is a root file system extracted from locked packages.
type Root struct {
	dir      string
	index    index
	declared []string // the lock's requested package names
}

// index is what a root records beside its files: each package's control
// paragraph, and which package ships each path that is not a directory.
type index struct {
	Format   string            `json:"format"`
	Packages []indexPackage    `json:"packages"`
	Files    map[string]string `json:"files"` // path -> package name
}

type indexPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"architecture"`
	Control string `json:"control"`
}

// Dir is the root's directory, to be read with chroot semantics.
func (r *Root) Dir() string { return r.dir }

// Owner returns the name of the package that ships path (absolute, clean,
// inside the root), or "" for a path no package ships as a file or link.
func (r *Root) Owner(path string) string { return r.index.Files[path] }

// Owners returns the package shipping each of paths that a package ships,
// as dpkg records it once installed (dpkg.FromControl).
func (r *Root) Owners(paths []string) (map[string]*dpkg.Package, error) {
	byName := map[string]*dpkg.Package{}
	out := map[string]*dpkg.Package{}
	for _, p := range paths {
		name := r.index.Files[p]
		if name == "" {
			continue
		}
		if byName[name] == nil {
			pkg, err := r.pkg(name)
			if err != nil {
				return nil, err
			}
			byName[name] = pkg
		}
		out[p] = byName[name]
	}
	return out, nil
}

// key names the root of a lock: a digest of the format and the locked
// .deb digests, in name order.
func key(l *lock.Lock) string {
	h := sha256.New()
	h.Write([]byte(rootFormat + "\n"))
	for _, p := range l.Packages {
		fmt.Fprintf(h, "%s %s\n", p.Name, p.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Root returns the root of l's packages: every .deb in the cache is
// checked against l first (see the package documentation), then the root
// is read from the cache or extracted into it.
func (c *Cache) Root(ctx context.Context, l *lock.Lock) (*Root, error) {
	sorted := slices.Clone(l.Packages)
	slices.SortFunc(sorted, func(a, b lock.Package) int { return strings.Compare(a.Name, b.Name) })
	sl := &lock.Lock{Packages: sorted}
	for _, p := range sorted {
		if err := c.check(p); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(c.dir, "roots", key(sl))
	r, err := readRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := c.extract(ctx, sorted, dir); err != nil {
			return nil, err
		}
		r, err = readRoot(dir)
	}
	if err != nil {
		return nil, err
	}
	for _, req := range l.Requests {
		name, _, _ := strings.Cut(req, "=")
		r.declared = append(r.declared, name)
	}
	return r, nil
}

// Declared returns the packages the lock was made for (a recipe's
// packages:), as dpkg records them once installed.
func (r *Root) Declared() ([]*dpkg.Package, error) {
	var out []*dpkg.Package
	for _, name := range r.declared {
		pkg, err := r.pkg(name)
		if err != nil {
			return nil, err
		}
		out = append(out, pkg)
	}
	return out, nil
}

// pkg returns the package name as dpkg records it once installed.
func (r *Root) pkg(name string) (*dpkg.Package, error) {
	i := slices.IndexFunc(r.index.Packages, func(ip indexPackage) bool { return ip.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("package cache root %s: no package %s extracted", r.dir, name)
	}
	return dpkg.FromControl(name+"/control", []byte(r.index.Packages[i].Control))
}

// check compares a cached .deb with the lock.
func (c *Cache) check(p lock.Package) error {
	path := c.debPath(p.SHA256)
	sum, size, err := fileSum(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &MissingError{Cache: c.dir, Packages: []string{p.Ref()}}
	}
	if err != nil {
		return err
	}
	if sum != p.SHA256 || size != p.Size {
		return &MismatchError{Package: p.Ref(), File: path,
			Got: fmt.Sprintf("SHA256 %s (%d bytes)", sum, size), Want: fmt.Sprintf("SHA256 %s (%d bytes)", p.SHA256, p.Size)}
	}
	return nil
}

// readRoot reads the root at dir: its index, and its files' directory.
func readRoot(dir string) (*Root, error) {
	f, err := readfile.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readfile.Regular(f, maxIndex)
	if err != nil {
		return nil, err
	}
	r := &Root{dir: filepath.Join(dir, "rootfs")}
	if err := json.Unmarshal(data, &r.index); err != nil || r.index.Format != rootFormat {
		return nil, fmt.Errorf("package cache root %s: unreadable index (format %q, %v): remove the directory", dir, r.index.Format, err)
	}
	return r, nil
}

// extract unpacks pkgs into a staging directory beside dir, records what
// each ships, and renames it to dir. Another build that got there first
// wins: its root is as good.
func (c *Cache) extract(ctx context.Context, pkgs []lock.Package, dir string) error {
	staging, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer rmtree.Remove(staging)
	rootfs := filepath.Join(staging, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	idx := index{Format: rootFormat, Files: map[string]string{}}
	for _, p := range pkgs {
		ip, err := c.unpack(ctx, p, root, idx.Files)
		if err != nil {
			return err
		}
		idx.Packages = append(idx.Packages, ip)
	}
	data, err := json.Marshal(&idx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(staging, "index.json"), data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(staging, dir); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return err
	}
	return nil
}

// unpack extracts one package into root, noting in files which package
// ships each path, and returns its control paragraph.
func (c *Cache) unpack(ctx context.Context, p lock.Package, root *os.Root, files map[string]string) (indexPackage, error) {
	f, err := os.Open(c.debPath(p.SHA256))
	if err != nil {
		return indexPackage{}, err
	}
	defer f.Close()
	a, err := deb.Open(f, p.Size)
	if err != nil {
		return indexPackage{}, fmt.Errorf("%s: %w", p.Ref(), err)
	}
	control, err := a.Control()
	if err != nil {
		return indexPackage{}, fmt.Errorf("%s: %w", p.Ref(), err)
	}
	pkg, err := dpkg.FromControl(p.Name+"/control", control)
	if err != nil {
		return indexPackage{}, fmt.Errorf("%s: %w", p.Ref(), err)
	}
	if pkg.Name != p.Name || pkg.Version != p.Version {
		return indexPackage{}, fmt.Errorf("%s: its control file says %s=%s", p.Ref(), pkg.Name, pkg.Version)
	}
	entries, err := a.Extract(ctx, root)
	if errors.Is(err, fs.ErrExist) {
		return indexPackage{}, fmt.Errorf("%s: %w (%s)", p.Ref(), err, conflict(err, files))
	}
	if err != nil {
		return indexPackage{}, fmt.Errorf("%s: %w", p.Ref(), err)
	}
	for _, e := range entries {
		if e.Type != tar.TypeDir { // directories are shared
			files[e.Path] = p.Name
		}
	}
	return indexPackage{Name: p.Name, Version: p.Version, Arch: pkg.Architecture, Control: string(control)}, nil
}

// conflict names the package that already shipped the path an extraction
// error is about.
func conflict(err error, files map[string]string) string {
	path, _, _ := strings.Cut(err.Error(), ":")
	if owner := files[path]; owner != "" {
		return "also shipped by " + owner
	}
	return "the path is shipped by another package too"
}

// Copyright returns the copyright file of the package name
// (usr/share/doc/NAME/copyright), read inside the root, or nil when it has
// none that can be read.
func (r *Root) Copyright(name string) []byte {
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil
	}
	defer root.Close()
	f, err := root.Open(filepath.Join("usr/share/doc", name, "copyright"))
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := readfile.Regular(f, 1<<20)
	if err != nil {
		return nil
	}
	return b
}
