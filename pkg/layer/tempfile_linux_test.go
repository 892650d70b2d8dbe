package layer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
	"golang.org/x/sys/unix"
)

// fallbacks are the ways a blob is stored and read: each combination of
// O_TMPFILE or a file unlinked at once, and readers of their own through
// /proc or readers sharing the file.
var fallbacks = []struct {
	name          string
	tmpfile, proc bool
}{
	{"O_TMPFILE and /proc", true, true},
	{"unlinked and /proc", false, true},
	{"O_TMPFILE without /proc", true, false},
	{"unlinked without /proc", false, false},
}

// fallBack makes FromTree and Compressed take the given paths until t ends.
func fallBack(t *testing.T, tmpfile, proc bool) {
	oldTmpfile, oldProc := useTmpfile, procSelfFD
	t.Cleanup(func() { useTmpfile, procSelfFD = oldTmpfile, oldProc })
	useTmpfile = tmpfile
	if !proc {
		procSelfFD = filepath.Join(t.TempDir(), "no-proc") + "/"
	}
}

func TestFallbacks(t *testing.T) {
	for _, fb := range fallbacks {
		t.Run(fb.name, func(t *testing.T) {
			fallBack(t, fb.tmpfile, fb.proc)
			dir := t.TempDir()
			l := build(t, noise(2<<20, 6), WithTempDir(dir))
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("temporary directory holds %v while the layer is open", entries)
			}
			// The kernel's name for the file: in dir, deleted, and "#inode" for O_TMPFILE.
			name, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(l.f.Fd())))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(name, dir+"/") || !strings.HasSuffix(name, " (deleted)") || strings.HasPrefix(name, dir+"/#") != fb.tmpfile {
				t.Errorf("blob file is %q", name)
			}
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			if _, isFile := rc.(*os.File); isFile != fb.proc {
				t.Errorf("Compressed returned a %T", rc)
			}
			rc.Close()
			readConcurrently(t, l, 4)
		})
	}
}

// mountTmpfs mounts a new tmpfs for the test with the given options.
func mountTmpfs(t *testing.T, flags uintptr, opts string) string {
	testutil.NeedRoot(t, "mounts a tmpfs")
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// used returns the bytes in use on the file system of dir.
func used(t *testing.T, dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// TestBlobTakesSpaceInTempDir proves where the blob lives: the tmpfs given
// with WithTempDir or as TMPDIR fills by the blob's size while no name
// appears in it, and empties on Close.
func TestBlobTakesSpaceInTempDir(t *testing.T) {
	dir := mountTmpfs(t, 0, "size=16m")
	for _, fb := range fallbacks[:2] {
		for _, how := range []string{"WithTempDir", "TMPDIR"} {
			t.Run(fb.name+" "+how, func(t *testing.T) {
				fallBack(t, fb.tmpfile, true)
				var opts []Option
				if how == "TMPDIR" {
					t.Setenv("TMPDIR", dir)
				} else {
					opts = append(opts, WithTempDir(dir))
				}
				before := used(t, dir)
				l := build(t, noise(4<<20, 7), opts...)
				if got := used(t, dir) - before; got < l.size {
					t.Errorf("the tmpfs grew by %d bytes for a blob of %d", got, l.size)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("temporary directory holds %v while the layer is open", entries)
				}
				readConcurrently(t, l, 2)
				l.Close()
				if got := used(t, dir); got != before {
					t.Errorf("%d bytes in use after Close, %d before the build", got, before)
				}
			})
		}
	}
}

// TestFullDisk fills a 64 KiB tmpfs: one line naming the directory, and
// nothing left behind.
func TestFullDisk(t *testing.T) {
	dir := mountTmpfs(t, 0, "size=64k")
	for _, fb := range fallbacks[:2] {
		t.Run(fb.name, func(t *testing.T) {
			fallBack(t, fb.tmpfile, true)
			checkBlobError(t, dir, syscall.ENOSPC)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("full temporary directory holds %v", entries)
			}
			if n := used(t, dir); n != 0 {
				t.Errorf("%d bytes still in use after the failed build", n)
			}
		})
	}
}

// TestUnwritableDir uses a read-only tmpfs as root, a directory without
// write permission otherwise.
func TestUnwritableDir(t *testing.T) {
	var dir string
	want := syscall.EACCES
	if os.Geteuid() == 0 {
		dir, want = mountTmpfs(t, unix.MS_RDONLY, "size=64k"), syscall.EROFS
	} else {
		dir = t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
	}
	for _, fb := range fallbacks[:2] {
		t.Run(fb.name, func(t *testing.T) {
			fallBack(t, fb.tmpfile, true)
			checkBlobError(t, dir, want)
		})
	}
}
