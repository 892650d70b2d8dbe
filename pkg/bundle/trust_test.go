package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

const goodMeta = `{"manifestDigest":"sha256:ab","config":{"config":{"User":"www"}}}`

// goodBundle writes a bundle that Open accepts: TARGET/current -> gen-1,
// with modes set explicitly so the umask does not matter.
func goodBundle(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "b")
	mkdir(t, dir, 0o755)
	mkdir(t, filepath.Join(dir, "gen-1"), 0o755)
	mkdir(t, filepath.Join(dir, "gen-1", RootFS), 0o755)
	write(t, filepath.Join(dir, "gen-1", MetaFile), goodMeta, 0o644)
	symlink(t, "gen-1", filepath.Join(dir, Current))
	return dir
}

// TestOpenUnsafe tampers with a good bundle in the ways an attacker (or a
// tampered disk) could, and checks that Open refuses each with ErrUnsafe
// and an error naming the offending path.
func TestOpenUnsafe(t *testing.T) {
	for _, tc := range []struct {
		name   string
		root   bool // needs root (chown)
		tamper func(t *testing.T, dir string)
		path   string // offending path, relative to the bundle
		want   string // error text
	}{
		{name: "symlinked gen", path: "gen-1", want: "a symlink, not a directory", tamper: func(t *testing.T, dir string) {
			rename(t, filepath.Join(dir, "gen-1"), filepath.Join(dir, "gen-real"))
			symlink(t, "gen-real", filepath.Join(dir, "gen-1"))
		}},
		{name: "gen is a file", path: "gen-1", want: "a regular file, not a directory", tamper: func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, "gen-1"))
			write(t, filepath.Join(dir, "gen-1"), "", 0o644)
		}},
		{name: "symlinked rootfs", path: "gen-1/rootfs", want: "a symlink, not a directory", tamper: func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, "gen-1", RootFS))
			symlink(t, "/", filepath.Join(dir, "gen-1", RootFS))
		}},
		{name: "rootfs is a file", path: "gen-1/rootfs", want: "a regular file, not a directory", tamper: func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, "gen-1", RootFS))
			write(t, filepath.Join(dir, "gen-1", RootFS), "", 0o644)
		}},
		{name: "FIFO image.json", path: "gen-1/image.json", want: "a FIFO, not a regular file", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "gen-1", MetaFile)
			remove(t, p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "directory image.json", path: "gen-1/image.json", want: "a directory, not a regular file", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "gen-1", MetaFile)
			remove(t, p)
			mkdir(t, p, 0o755)
		}},
		{name: "oversized image.json", path: "gen-1/image.json", want: "more than 4194304", tamper: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "gen-1", MetaFile), goodMeta+strings.Repeat(" ", MaxMetaSize), 0o644)
		}},
		{name: "symlinked image.json", path: "gen-1/image.json", want: "a symlink, not a regular file", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "gen-1", MetaFile)
			write(t, filepath.Join(dir, "meta"), goodMeta, 0o644)
			remove(t, p)
			symlink(t, "../meta", p)
		}},
		{name: "image.json group-writable", path: "gen-1/image.json", want: "writable by group or others (mode 0664)", tamper: func(t *testing.T, dir string) {
			chmod(t, filepath.Join(dir, "gen-1", MetaFile), 0o664)
		}},
		{name: "TARGET 0777", path: "", want: "writable by group or others (mode 0777)", tamper: func(t *testing.T, dir string) {
			chmod(t, dir, 0o777)
		}},
		{name: "TARGET 0775", path: "", want: "writable by group or others (mode 0775)", tamper: func(t *testing.T, dir string) {
			chmod(t, dir, 0o775)
		}},
		{name: "TARGET sticky 1777", path: "", want: "writable by group or others (mode 01777)", tamper: func(t *testing.T, dir string) {
			chmod(t, dir, 0o1777)
		}},
		{name: "gen 0757", path: "gen-1", want: "writable by group or others (mode 0757)", tamper: func(t *testing.T, dir string) {
			chmod(t, filepath.Join(dir, "gen-1"), 0o757)
		}},
		{name: "current is a directory", path: "current", want: "not a symlink", tamper: func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, Current))
			mkdir(t, filepath.Join(dir, Current), 0o755)
		}},
		{name: "TARGET owned by nobody", root: true, path: "", want: "owned by uid 65534", tamper: func(t *testing.T, dir string) {
			chown(t, dir, 65534)
		}},
		{name: "current owned by nobody", root: true, path: "current", want: "owned by uid 65534", tamper: func(t *testing.T, dir string) {
			chown(t, filepath.Join(dir, Current), 65534)
		}},
		{name: "gen owned by nobody", root: true, path: "gen-1", want: "owned by uid 65534", tamper: func(t *testing.T, dir string) {
			chown(t, filepath.Join(dir, "gen-1"), 65534)
		}},
		{name: "image.json owned by nobody", root: true, path: "gen-1/image.json", want: "owned by uid 65534", tamper: func(t *testing.T, dir string) {
			chown(t, filepath.Join(dir, "gen-1", MetaFile), 65534)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				testutil.NeedRoot(t, "chown to another uid")
			}
			dir := goodBundle(t)
			tc.tamper(t, dir)
			_, err := Open(dir)
			p := filepath.Join(dir, tc.path)
			if !errors.Is(err, ErrUnsafe) || errors.Is(err, ErrNotBundle) {
				t.Fatalf("Open: %v, want ErrUnsafe", err)
			}
			if msg := err.Error(); !strings.Contains(msg, p+": ") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("Open: %q, want one line naming %s and saying %q", msg, p, tc.want)
			}
		})
	}
}

// TestOpenKeepsImageModes checks what the rule leaves alone: the rootfs
// mode and owner are the image's, and a TARGET reached through a symlink is
// judged by the directory it names.
func TestOpenKeepsImageModes(t *testing.T) {
	testutil.NeedRoot(t, "chown to another uid")
	dir := goodBundle(t)
	chmod(t, filepath.Join(dir, "gen-1", RootFS), 0o1777)
	chown(t, filepath.Join(dir, "gen-1", RootFS), 65534)
	link := filepath.Join(filepath.Dir(dir), "link")
	symlink(t, dir, link)
	if _, err := Open(link); err != nil {
		t.Fatalf("Open: %v", err)
	}
}

// TestRootReplaced checks that Root and OpenRoot notice a rootfs swapped
// after Open.
func TestRootReplaced(t *testing.T) {
	for _, tc := range []struct {
		name string
		swap func(t *testing.T, rootfs string)
	}{
		{name: "symlink to /", swap: func(t *testing.T, rootfs string) { symlink(t, "/", rootfs) }},
		{name: "another directory", swap: func(t *testing.T, rootfs string) { mkdir(t, rootfs, 0o755) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := goodBundle(t)
			b, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := b.OpenRoot(); err != nil {
				t.Fatalf("OpenRoot() before the swap: %v", err)
			} else {
				f.Close()
			}
			rename(t, b.RootFS(), b.RootFS()+".old")
			tc.swap(t, b.RootFS())
			if p, err := b.Root(); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), b.RootFS()) {
				t.Fatalf("Root() = %q, %v; want ErrUnsafe naming %s", p, err, b.RootFS())
			}
			if f, err := b.OpenRoot(); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), b.RootFS()) {
				t.Fatalf("OpenRoot() = %v, %v; want ErrUnsafe naming %s", f, err, b.RootFS())
			}
		})
	}
}

func TestTrusted(t *testing.T) {
	dir := goodBundle(t)
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o755, true}, {0o700, true}, {0o775, false}, {0o757, false}} {
		chmod(t, dir, tc.mode)
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		err = TrustedDir(int(f.Fd()), dir)
		f.Close()
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrUnsafe) {
			t.Errorf("TrustedDir(mode %#o) = %v, want ok=%v", tc.mode, err, tc.ok)
		}
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(p, mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
}

func write(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	chmod(t, p, mode)
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := syscall.Chmod(p, uint32(mode.Perm())|sticky(mode)); err != nil {
		t.Fatal(err)
	}
}

func sticky(mode os.FileMode) uint32 {
	if mode&0o1000 != 0 || mode&os.ModeSticky != 0 {
		return syscall.S_ISVTX
	}
	return 0
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid int) {
	t.Helper()
	if err := os.Lchown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
}
