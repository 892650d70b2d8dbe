package passwd_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/pkg/passwd"
)

func opener(root string) passwd.Opener {
	return func(name string) (*os.File, error) {
		return os.OpenFile(filepath.Join(root, name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
}

func TestLookup(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("# c\nroot:x:0:0::/root:/bin/sh\nsvc:x:1000:1000::/srv:/usr/sbin/nologin\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("svc:x:1000:\nlog:x:4:svc,x\nweb:x:33:svc\nroot:x:0:\n"), 0o644)
	tests := []struct {
		spec string
		want passwd.User
		err  string
	}{
		{"svc", passwd.User{Name: "svc", UID: 1000, GID: 1000, Groups: []uint32{4, 33}, Home: "/srv"}, ""},
		{"svc:web", passwd.User{Name: "svc", UID: 1000, GID: 33, Groups: []uint32{4}, Home: "/srv"}, ""},
		{"1000:5", passwd.User{Name: "svc", UID: 1000, GID: 5, Groups: []uint32{4, 33}, Home: "/srv"}, ""},
		{"4242", passwd.User{UID: 4242, GID: 4242, Home: "/"}, ""},
		{"root", passwd.User{Name: "root", Home: "/root"}, ""},
		{"nobody", passwd.User{}, "not in the jail's /etc/passwd"},
		{"svc:", passwd.User{}, "want NAME"},
		{"svc:nogroup", passwd.User{}, `group "nogroup"`},
		// (uid_t)-1 means "leave unchanged" to setresuid/setresgid: root would stay.
		{"4294967295", passwd.User{}, "4294967295 is not a valid id"},
		{"1000:4294967295", passwd.User{}, `group "4294967295": 4294967295 is not a valid id`},
		{"99999999999", passwd.User{}, "is not a decimal id"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := passwd.Lookup(opener(root), tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Lookup = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got.Name != tt.want.Name || got.UID != tt.want.UID || got.GID != tt.want.GID ||
				got.Home != tt.want.Home || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("Lookup = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestHostileFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, p string)
		err   string
	}{
		{"fifo", func(t *testing.T, p string) { syscall.Mkfifo(p, 0o644) }, "not a regular file"},
		{"directory", func(t *testing.T, p string) { os.Mkdir(p, 0o755) }, "not a regular file"},
		{"huge", func(t *testing.T, p string) { os.WriteFile(p, make([]byte, passwd.MaxSize+1), 0o644) }, "larger than"},
		{"short line", func(t *testing.T, p string) { os.WriteFile(p, []byte("a:b:c\n"), 0o644) }, "line 1: 3 fields"},
		{"bad uid", func(t *testing.T, p string) { os.WriteFile(p, []byte("a:x:-1:0::/:/bin/false\n"), 0o644) }, "line 1: uid"},
		{"nis", func(t *testing.T, p string) { os.WriteFile(p, []byte("+::::::\n"), 0o644) }, "NIS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			os.Mkdir(filepath.Join(root, "etc"), 0o755)
			tt.setup(t, filepath.Join(root, "etc/passwd"))
			_, err := passwd.Lookup(opener(root), "svc")
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Lookup = %v, want %q", err, tt.err)
			}
		})
	}
}

// TestRoot: Root.Open finds files as a process chrooted into the tree would:
// an absolute symlink resolves inside, ".." stops at the root, a FIFO does
// not block.
func TestRoot(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data/passwd"), []byte("svc:x:1000:1000::/:/usr/sbin/nologin\n"), 0o644)
	os.Symlink("/data/passwd", filepath.Join(dir, "etc/passwd"))
	os.Symlink("../../../../../../etc/shadow", filepath.Join(dir, "etc/shadow"))
	syscall.Mkfifo(filepath.Join(dir, "etc/fifo"), 0o644)
	r, err := passwd.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	u, err := passwd.Lookup(r.Open, "svc")
	if err != nil || u.UID != 1000 {
		t.Errorf("Lookup through an absolute symlink inside the jail = %+v, %v", u, err)
	}
	if f, err := r.Open("/etc/shadow"); err == nil {
		f.Close()
		t.Errorf("/etc/shadow -> ../../..: opened the host's, or something outside the jail")
	}
	f, err := r.Open("/etc/fifo") // returns: O_NONBLOCK
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
