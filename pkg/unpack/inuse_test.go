package unpack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/bundle"
)

const chrootEnv = "JAILIMG_UNPACK_CHROOT" // DIR: chroot there, say so, wait for stdin to close

// chrootAndWait is a service running in a jail: it chroots into dir and
// waits, without a file of the jail open, until stdin closes.
func chrootAndWait(dir string) {
	if err := syscall.Chroot(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chdir("/")
	fmt.Println("in")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestGenerationInUse unpacks a second image while a process runs chrooted
// in the first one's rootfs, as a service does during an upgrade: the new
// generation goes live and the old one is left in place (a service that
// serves files from it would otherwise lose them); once the process is
// gone, the next unpack, of the same image, removes it.
func TestGenerationInUse(t *testing.T) {
	testutil.NeedRoot(t, "chroot")
	target := filepath.Join(t.TempDir(), "jail")
	old := mustUnpack(t, imageOf(t, true, gzLayer(t, file("index.html", "old"))), target)
	svc := exec.Command(os.Args[0], "-test.run=^$")
	svc.Env = append(os.Environ(), chrootEnv+"="+filepath.Join(old.Gen, bundle.RootFS))
	stdin, err := svc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := svc.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	svc.Stderr = os.Stderr
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); svc.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "in\n" {
		t.Fatalf("the process did not enter the jail: %q, %v", line, err)
	}

	img := imageOf(t, true, gzLayer(t, file("index.html", "new")))
	res := mustUnpack(t, img, target)
	if b, err := os.ReadFile(filepath.Join(old.Gen, bundle.RootFS, "index.html")); err != nil || string(b) != "old" {
		t.Errorf("the generation a process runs in, after an upgrade: %q, %v; want it whole", b, err)
	}
	if live, err := bundle.Open(target); err != nil || live.Gen != res.Gen {
		t.Errorf("live generation %v, %v; want the new one %s", live, err, res.Gen)
	}

	stdin.Close()
	if err := svc.Wait(); err != nil {
		t.Fatal(err)
	}
	mustUnpack(t, img, target)
	if _, err := os.Lstat(old.Gen); !os.IsNotExist(err) {
		t.Errorf("old generation after the process ended and another unpack: %v, want it removed", err)
	}
}
