// Package loopdev makes loop-device filesystems for root-only tests.
package loopdev

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mkfs names the formatter and the package that ships it for each type.
var mkfs = map[string][2]string{
	"ext4": {"mkfs.ext4", "e2fsprogs"},
	"xfs":  {"mkfs.xfs", "xfsprogs"},
}

// sizes are the image sizes: xfs refuses filesystems under 300 MiB.
var sizes = map[string]string{"ext4": "64M", "xfs": "320M"}

// New formats a sparse file in t.TempDir() as fstype ("ext4" or "xfs"),
// attaches it to a free loop device and returns the device path. Cleanup
// unmounts every mount of the device (lazily if busy) and detaches it. A
// missing formatter fails t (hack/deps.sh installs it). The caller must be root.
func New(t testing.TB, fstype string) string {
	t.Helper()
	return NewSize(t, fstype, sizes[fstype])
}

// NewSize is New with a file system of size bytes (as truncate -s reads
// it, e.g. "256M"): room for two generations of a large jail.
func NewSize(t testing.TB, fstype, size string) string {
	t.Helper()
	tool, ok := mkfs[fstype]
	if !ok {
		t.Fatalf("loopdev: unknown filesystem %q", fstype)
	}
	if _, err := exec.LookPath(tool[0]); err != nil {
		t.Fatalf("loopdev: %s is missing; `make test` (hack/deps.sh) installs %s", tool[0], tool[1])
	}
	img := filepath.Join(t.TempDir(), fstype+".img")
	run(t, "truncate", "-s", size, img)
	args := []string{"-q", "-F", img}
	if fstype == "xfs" {
		args = []string{"-q", "-f", img}
	}
	run(t, tool[0], args...)
	dev := strings.TrimSpace(run(t, "losetup", "-f", "--show", img))
	t.Cleanup(func() {
		for _, p := range MountPoints(dev) {
			if exec.Command("umount", p).Run() != nil {
				exec.Command("umount", "-l", p).Run()
			}
		}
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v\n%s", dev, err, out)
		}
	})
	return dev
}

// MountPoints lists where dev is mounted, from /proc/self/mountinfo, the
// latest mount first.
func MountPoints(dev string) []string {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if w == "-" && i+2 < len(f) && f[i+2] == dev {
				out = append(out, f[4])
			}
		}
	}
	// Unmount the last mounted first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Options returns the per-mount options of the topmost mount on point, e.g.
// ["ro" "nosuid" "nodev" "relatime"], or nil when point is not a mount point.
func Options(point string) []string {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var opts []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == point {
			opts = strings.Split(f[5], ",")
		}
	}
	return opts
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
