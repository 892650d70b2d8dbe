package unpack

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
)

// verifyEnts is the tree the verify tests tamper with.
func verifyEnts() []ent {
	return []ent{dir("etc"), file("etc/motd", "hi"), hardlink("etc/motd2", "etc/motd"), symlink("link", "etc/motd"),
		dir("var"), dir("var/www"), file("var/www/index", "idx"), file("var/www/page", "page")}
}

// driftKinds returns "PATH WHAT" for every drift but mtime (tampering changes
// the mtimes of what it touches), sorted.
func driftKinds(ds []Drift) []string {
	var out []string
	for _, d := range ds {
		if d.What != "mtime" {
			out = append(out, d.Path+" "+d.What)
		}
	}
	slices.Sort(out)
	return out
}

// hostFiles are the files of hostDir: of the same names and sizes as the
// image's var/www/*, with other contents.
var hostFiles = map[string]string{"index": "IDX", "page": "PAGE"}

// hostDir makes a directory outside TARGET holding hostFiles.
func hostDir(t *testing.T) string {
	t.Helper()
	h := t.TempDir()
	for name, body := range hostFiles {
		write(t, h, name, body)
	}
	return h
}

func TestVerifyDrifts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, root string)
		want   []string
	}{
		{name: "none", tamper: func(*testing.T, string) {}},
		{name: "content", tamper: func(t *testing.T, root string) { write(t, root, "var/www/index", "IDX") },
			want: []string{"/var/www/index content"}},
		{name: "size", tamper: func(t *testing.T, root string) { write(t, root, "var/www/index", "index") },
			want: []string{"/var/www/index size"}},
		{name: "mode", tamper: func(t *testing.T, root string) { try(t, os.Chmod(filepath.Join(root, "var/www"), 0o700)) },
			want: []string{"/var/www mode"}},
		{name: "extra and missing", tamper: func(t *testing.T, root string) {
			write(t, root, "etc/new", "n")
			try(t, os.Remove(filepath.Join(root, "var/www/page")))
		}, want: []string{"/etc/new extra", "/var/www/page missing"}},
		{name: "link", tamper: func(t *testing.T, root string) {
			try(t, os.Remove(filepath.Join(root, "link")))
			try(t, os.Symlink("/etc/shadow", filepath.Join(root, "link")))
		}, want: []string{"/link link"}},
		{name: "hardlink broken", tamper: func(t *testing.T, root string) {
			try(t, os.Remove(filepath.Join(root, "etc/motd2")))
			write(t, root, "etc/motd2", "hi")
		}, want: []string{"/etc/motd2 hardlink"}},
		{name: "FIFO for a file", tamper: func(t *testing.T, root string) {
			try(t, os.Remove(filepath.Join(root, "var/www/index")))
			try(t, unix.Mkfifo(filepath.Join(root, "var/www/index"), 0o644))
		}, want: []string{"/var/www/index type"}},
		{name: "symlink to a host directory for a directory", tamper: func(t *testing.T, root string) {
			try(t, os.Rename(filepath.Join(root, "var/www"), filepath.Join(root, "..", "www.moved")))
			try(t, os.Symlink(hostDir(t), filepath.Join(root, "var/www")))
		}, want: []string{"/var/www type"}},
		{name: "file for a directory", tamper: func(t *testing.T, root string) {
			try(t, os.RemoveAll(filepath.Join(root, "var/www")))
			write(t, root, "var/www", "x")
		}, want: []string{"/var/www type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "jail")
			img := imageOf(t, true, gzLayer(t, verifyEnts()...))
			mustUnpack(t, img, target)
			tc.tamper(t, rootfs(target))
			drifts, err := Verify(context.Background(), img, target)
			if err != nil {
				t.Fatal(err)
			}
			if got := driftKinds(drifts); !slices.Equal(got, tc.want) {
				t.Errorf("drifts %v, want %v", drifts, tc.want)
			}
		})
	}
}

func write(t *testing.T, root, name, body string) {
	t.Helper()
	try(t, os.WriteFile(filepath.Join(root, name), []byte(body), 0o644))
}

func try(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// onOpen makes every open of the file p wait until fn has run (a fanotify
// permission event), so that a test can change the tree at an exact point
// of a walk. fn runs once.
func onOpen(t *testing.T, p string, fn func()) {
	t.Helper()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		t.Fatalf("fanotify_init: %v", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, unix.AT_FDCWD, p); err != nil {
		unix.Close(fd)
		t.Fatalf("fanotify_mark %s: %v", p, err)
	}
	f := os.NewFile(uintptr(fd), "fanotify")
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			var ev unix.FanotifyEventMetadata
			for b := buf[:n]; len(b) >= binary.Size(ev); b = b[ev.Event_len:] {
				if _, err := binary.Decode(b, binary.NativeEndian, &ev); err != nil {
					return
				}
				once.Do(fn)
				resp := unix.FanotifyResponse{Fd: ev.Fd, Response: unix.FAN_ALLOW}
				out, _ := binary.Append(nil, binary.NativeEndian, resp)
				f.Write(out)
				unix.Close(int(ev.Fd))
			}
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
}

// TestVerifyDirSwappedDuringWalk swaps a directory for a symlink to a host
// directory while verify is inside it (on its open of the directory's first
// file): verify goes on in the directory it opened, never opens or hashes
// the host file, and reports the swap.
func TestVerifyDirSwappedDuringWalk(t *testing.T) {
	testutil.NeedRoot(t, "fanotify permission events")
	target := filepath.Join(t.TempDir(), "jail")
	img := imageOf(t, true, gzLayer(t, verifyEnts()...))
	mustUnpack(t, img, target)
	root := rootfs(target)
	host := hostDir(t)
	ino, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	try(t, err)
	defer unix.Close(ino)
	if _, err := unix.InotifyAddWatch(ino, host, unix.IN_OPEN|unix.IN_ACCESS); err != nil {
		t.Fatal(err)
	}

	// var/www/index is read first, then var/www/page.
	onOpen(t, filepath.Join(root, "var/www/index"), func() {
		try(t, os.Rename(filepath.Join(root, "var/www"), filepath.Join(root, "..", "www.moved")))
		try(t, os.Symlink(host, filepath.Join(root, "var/www")))
	})
	drifts, err := Verify(context.Background(), img, target)
	if err != nil {
		t.Fatal(err)
	}
	if got := driftKinds(drifts); !slices.Equal(got, []string{"/var/www type"}) {
		t.Errorf("drifts %v, want /var/www type", drifts)
	}
	for _, body := range hostFiles {
		hostSum := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(body)))
		for _, d := range drifts {
			if d.Got == hostSum {
				t.Errorf("verify hashed a host file: %v", d)
			}
		}
	}
	buf := make([]byte, 4096)
	if n, _ := unix.Read(ino, buf); n > 0 {
		t.Errorf("verify opened or read a file of the host directory %s (%d bytes of inotify events)", host, n)
	}
}

// TestVerifyFIFORace flips a file of the tree between itself and a FIFO as
// fast as it can while verify runs again and again: verify never blocks on
// the FIFO nor reads it; it reports the FIFO as a type drift. A helper
// keeps opening the FIFO for writing, so that a verify that did open it
// for reading is let go (and shows, by a content drift, that it read it)
// instead of hanging the test.
func TestVerifyFIFORace(t *testing.T) {
	target := filepath.Join(t.TempDir(), "jail")
	img := imageOf(t, true, gzLayer(t, verifyEnts()...))
	mustUnpack(t, img, target)
	root := rootfs(target)
	scratch := filepath.Join(root, "..", "scratch") // same file system, outside the rootfs
	try(t, os.Mkdir(scratch, 0o755))
	fifo, reg := filepath.Join(scratch, "fifo"), filepath.Join(scratch, "reg")
	try(t, unix.Mkfifo(fifo, 0o644))
	try(t, os.Link(filepath.Join(root, "var/www/index"), reg))
	victim := filepath.Join(root, "var/www/index")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { // the hostile service
		defer wg.Done()
		tmp := filepath.Join(scratch, "tmp")
		for ctx.Err() == nil {
			for _, src := range []string{fifo, reg} {
				if os.Link(src, tmp) == nil {
					os.Rename(tmp, victim)
				}
			}
		}
	}()
	go func() { // lets a blocked reader go
		defer wg.Done()
		for ctx.Err() == nil {
			if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
				unix.Close(fd)
			}
		}
	}()

	fifos := 0
	for i := 0; i < 200; i++ {
		drifts, err := Verify(ctx, img, target)
		if err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
		for _, d := range drifts {
			switch {
			case d.Path == "/var/www/index" && d.What == "type" && d.Got == "FIFO":
				fifos++
			case d.What == "mtime": // the swaps' doing
			default:
				t.Fatalf("verify %d: %v (verify read the FIFO)", i, d)
			}
		}
	}
	if fifos == 0 {
		t.Errorf("verify never saw the FIFO: the test did not race")
	}
	t.Logf("%d of 200 runs reported the FIFO", fifos)
}
