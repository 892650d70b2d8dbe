package sysroot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jailimg/jailimg/internal/rmtree"
	"github.com/jailimg/jailimg/pkg/apt"
	"github.com/jailimg/jailimg/pkg/lock"
)

// DefaultDir is the cache a build uses unless told otherwise.
const DefaultDir = "/var/cache/jailimg/debs"

// Cache is a directory of .deb files and the roots extracted from them.
type Cache struct {
	dir string
}

// Open returns the cache at dir, creating it (mode 0700) if missing.
func Open(dir string) (*Cache, error) {
	for _, sub := range []string{"", "debs", "roots"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("package cache: %w", err)
		}
	}
	return &Cache{dir: dir}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// debPath is where the cache keeps the .deb with that SHA256.
func (c *Cache) debPath(sum string) string {
	return filepath.Join(c.dir, "debs", sum+".deb")
}

// MissingError lists locked packages the cache lacks, offline.
type MissingError struct {
	Cache    string
	Packages []string // NAME=VERSION
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("package cache %s lacks %s (offline: run the build once online, or copy a cache that has them)",
		e.Cache, strings.Join(e.Packages, ", "))
}

// MismatchError is a .deb whose bytes are not what the lock says.
type MismatchError struct {
	Package string // NAME=VERSION
	File    string
	Got     string // its SHA256 and size
	Want    string // the lock's
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: %s has %s, the lock says %s: refusing it", e.Package, e.File, e.Got, e.Want)
}

// ErrMismatch is matched by every *MismatchError.
var ErrMismatch = errors.New(".deb does not match the lock")

// Is makes a *MismatchError match ErrMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// Fetch makes sure the cache holds every package of l: those missing are
// downloaded with apt-get download, unless offline, when they are a
// *MissingError. A downloaded file is kept under the SHA256 the lock gives
// its package only if its bytes have that SHA256; one that matches no
// locked package is a *MismatchError naming the package apt fetched.
func (c *Cache) Fetch(ctx context.Context, l *lock.Lock, offline bool) error {
	var missing []lock.Package
	for _, p := range l.Packages {
		if _, err := os.Stat(c.debPath(p.SHA256)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
		} else if err != nil {
			return err
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if offline {
		var names []string
		for _, p := range missing {
			names = append(names, p.Ref())
		}
		return &MissingError{Cache: c.dir, Packages: names}
	}
	staging, err := os.MkdirTemp(c.dir, ".download-")
	if err != nil {
		return err
	}
	defer rmtree.Remove(staging)
	var reqs []apt.Request
	for _, p := range missing {
		reqs = append(reqs, apt.Request{Name: p.Name, Version: p.Version})
	}
	if err := apt.Download(ctx, staging, reqs); err != nil {
		return err
	}
	return c.store(staging, missing)
}

// store moves the files apt downloaded into staging to the cache, each
// under its SHA256 once it is found to be that of a missing package.
func (c *Cache) store(staging string, missing []lock.Package) error {
	want := map[string]lock.Package{}
	for _, p := range missing {
		want[p.SHA256] = p
	}
	entries, err := os.ReadDir(staging)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".deb") {
			continue
		}
		src := filepath.Join(staging, e.Name())
		sum, size, err := fileSum(src)
		if err != nil {
			return err
		}
		p, ok := want[sum]
		if !ok {
			return &MismatchError{Package: debName(e.Name(), missing), File: "the .deb apt-get download fetched",
				Got: fmt.Sprintf("SHA256 %s (%d bytes)", sum, size), Want: "another (the archive's package is not the locked one)"}
		}
		if err := os.Rename(src, c.debPath(p.SHA256)); err != nil {
			return err
		}
		delete(want, sum)
	}
	if len(want) > 0 {
		var names []string
		for _, p := range want {
			names = append(names, p.Ref())
		}
		sort.Strings(names)
		return fmt.Errorf("apt-get download did not fetch %s", strings.Join(names, ", "))
	}
	return nil
}

// debName names the package a downloaded file is of, from apt's file name
// NAME_VERSION_ARCH.deb.
func debName(file string, pkgs []lock.Package) string {
	name, _, _ := strings.Cut(file, "_")
	for _, p := range pkgs {
		if p.Name == name {
			return p.Ref()
		}
	}
	return file
}

// fileSum returns a file's SHA256 (hex) and size.
func fileSum(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
