package main

import (
	"archive/tar"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/layout"
)

// exitCase is one row of README.md's table of exit codes: the jailimg
// command line that meets the cause, run through the built binary.
type exitCase struct {
	cause string
	root  bool                                    // needs root: mounts, another user
	args  func(t *testing.T, dir string) []string // the command line, given a fresh 0755 directory
	as    uint32                                  // run as this uid (0: as the test)
	sig   syscall.Signal                          // send it once the command waits on the network
	code  int
	want  string // in stderr
}

// TestExitCodes runs one command per row of README.md's exit code table
// and checks its exit status and message: 3 only for what the recipe or
// the image is responsible for, 1 (with the errno's words) for what the
// host is. Before, a full disk, a missing --device and every ENOENT were 3
// ("the image was refused"), a missing library 1, SIGTERM 130.
func TestExitCodes(t *testing.T) {
	for _, c := range exitCases() {
		t.Run(c.cause, func(t *testing.T) {
			if c.root {
				needRoot(t)
			}
			dir := openDir(t)
			cmd := exec.Command(jailimgBin, c.args(t, dir)...)
			cmd.Dir = dir
			if c.as != 0 {
				cmd.Path = filepath.Join(dir, "jailimg") // the test's build directory is closed to others
				testutil.CopyFile(t, jailimgBin, cmd.Path, 0o755)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.as, Gid: c.as}}
			}
			var r result
			if c.sig != 0 {
				r = interrupt(t, cmd, c.sig)
			} else {
				r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
			}
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Errorf("jailimg %q: exit %d, want %d and %q in stderr:\n%s", cmd.Args[1:], r.code, c.code, c.want, r.stderr)
			}
		})
	}
}

func exitCases() []exitCase {
	return []exitCase{
		{cause: "success", code: 0, args: func(t *testing.T, dir string) []string {
			return []string{"-q", "unpack", trueLayout(t, dir), filepath.Join(dir, "jail")}
		}},
		{cause: "disk full", root: true, code: 1, want: "no space left on device", args: func(t *testing.T, dir string) []string {
			l := trueLayout(t, dir)
			mnt := filepath.Join(dir, "small")
			os.Mkdir(mnt, 0o755)
			if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0755"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
			return []string{"-q", "unpack", l, filepath.Join(mnt, "jail")}
		}},
		{cause: "a missing device", root: true, code: 1, want: "/dev/jailimg-no-such-disk: no such file or directory", args: func(t *testing.T, dir string) []string {
			return []string{"-q", "unpack", "--device", "/dev/jailimg-no-such-disk", trueLayout(t, dir), filepath.Join(dir, "jail")}
		}},
		{cause: "permission denied", root: true, as: 65534, code: 1, want: "permission denied", args: func(t *testing.T, dir string) []string {
			ro := filepath.Join(dir, "ro")
			os.Mkdir(ro, 0o755) // root's: nobody may not create the target in it
			return []string{"-q", "unpack", trueLayout(t, dir), filepath.Join(ro, "jail")}
		}},
		{cause: "bad flags or arguments", code: 2, want: "--max-bytes", args: func(t *testing.T, dir string) []string {
			return []string{"unpack", "--max-bytes", "1P", dir, filepath.Join(dir, "jail")}
		}},
		{cause: "a recipe error", code: 3, want: "r.yaml:2: binarys: unknown key", args: func(t *testing.T, dir string) []string {
			return buildArgs(t, dir, "name: x\nbinarys: [/usr/bin/true]\n")
		}},
		{cause: "a file the recipe names is missing", code: 3, want: "files[0]: /etc/jailimg-no-such.conf", args: func(t *testing.T, dir string) []string {
			return buildArgs(t, dir, "name: x\nfiles: [{src: /etc/jailimg-no-such.conf, dst: /etc/x.conf}]\n")
		}},
		{cause: "a library is missing", code: 3, want: "resolving libnope.so.3 for /usr/bin/true: not found in", args: func(t *testing.T, dir string) []string {
			return buildArgs(t, dir, "name: x\nbinaries: [/usr/bin/true]\nlibraries: [libnope.so.3]\n")
		}},
		{cause: "the program is not in the jail", code: 3, want: "entrypoint[0]: /usr/sbin/nothere is not in the jail", args: func(t *testing.T, dir string) []string {
			return buildArgs(t, dir, "name: x\nbinaries: [/usr/bin/true]\nentrypoint: [/usr/sbin/nothere]\n")
		}},
		{cause: "not an ELF file", code: 3, want: "not an ELF file", args: func(t *testing.T, dir string) []string {
			return []string{"resolve", "/etc/hostname"}
		}},
		{cause: "an unsafe image", code: 3, want: `entry "../escape": unsafe path`, args: func(t *testing.T, dir string) []string {
			evil := layoutOf(t, &tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
			return []string{"-q", "unpack", evil, filepath.Join(dir, "jail")}
		}},
		{cause: "a corrupt layer", code: 3, want: "corrupt layer", args: func(t *testing.T, dir string) []string {
			l := trueLayout(t, dir)
			corruptLayer(t, l)
			return []string{"-q", "unpack", l, filepath.Join(dir, "jail")}
		}},
		{cause: "SOURCE names no image", code: 3, want: `SOURCE "no-such-layout": no such OCI layout directory`, args: func(t *testing.T, dir string) []string {
			return []string{"-q", "unpack", "no-such-layout", filepath.Join(dir, "jail")}
		}},
		{cause: "registry error", code: 4, want: "(HTTP 404 Not Found)", args: func(t *testing.T, dir string) []string {
			srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
			t.Cleanup(srv.Close)
			return []string{"-q", "pull", strings.TrimPrefix(srv.URL, "http://") + "/jails/none:1", filepath.Join(dir, "cache")}
		}},
		{cause: "SIGINT", sig: syscall.SIGINT, code: 130, want: "interrupted by SIGINT", args: hangingPull},
		{cause: "SIGTERM", sig: syscall.SIGTERM, code: 143, want: "interrupted by SIGTERM", args: hangingPull},
	}
}

// openDir returns a fresh directory that every user may enter and read.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jailimg-exit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("rm", "-rf", dir).Run() })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// trueLayout builds a jail of /usr/bin/true into dir/true and returns it.
func trueLayout(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "true")
	buildArgs(t, dir, "name: true\nbinaries: [/usr/bin/true]\nentrypoint: [/usr/bin/true]\n")
	mustJailimg(t, dir, nil, "-q", "build", "-o", out, filepath.Join(dir, "r.yaml"))
	exec.Command("chmod", "-R", "a+rX", out).Run()
	return out
}

// buildArgs writes the recipe dir/r.yaml and returns the command building it.
func buildArgs(t *testing.T, dir, recipe string) []string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-q", "build", "-o", filepath.Join(dir, "out"), filepath.Join(dir, "r.yaml")}
}

// corruptLayer flips a byte of the layout's layer blob, keeping its size.
func corruptLayer(t *testing.T, dir string) {
	t.Helper()
	img, err := layout.Image(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	d := m.Layers[0].Digest
	blob := filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
	raw, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	os.Remove(blob) // a hardlink may share it
	if err := os.WriteFile(blob, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// hangingPull starts a registry that accepts connections and never answers
// and returns a pull from it: jailimg waits until a signal ends it.
func hangingPull(t *testing.T, dir string) []string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted <- ln
	return []string{"-q", "pull", ln.Addr().String() + "/jails/x:1", filepath.Join(dir, "cache")}
}

// accepted hands interrupt the listener of hangingPull.
var accepted = make(chan net.Listener, 1)

// interrupt runs cmd, sends it sig once it has connected to the listener
// of hangingPull, and returns its result.
func interrupt(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) result {
	t.Helper()
	ln := <-accepted
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept() // jailimg is waiting for an answer now
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), code}
}
