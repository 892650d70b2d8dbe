package recipes_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/loopdev"
	"github.com/jailimg/jailimg/pkg/bundle"
)

// build builds recipes/NAME.yaml into an OCI layout in a fresh directory,
// with env added to jailimg's environment, and returns the layout's path.
func build(t *testing.T, name string, env ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	digest := strings.TrimSpace(mustJailimgEnv(t, env, "-q", "build", "-o", out, name+".yaml"))
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("jailimg build %s.yaml printed %q, want a digest", name, digest)
	}
	return out
}

// partition is a loop-device ext4 file system of room for two generations
// of the largest jail (bind9's), detached when the test ends.
func partition(t *testing.T) string {
	t.Helper()
	return loopdev.NewSize(t, "ext4", "256M")
}

// unpackDevice unpacks the layout's image onto the bundle directory target
// with `jailimg unpack --device dev`, and checks that it leaves the
// partition read-only, nosuid and nodev, as unpack promises for an image
// whose only device nodes are the safe ones in /dev (jailimg run binds the
// host's over them).
func unpackDevice(t *testing.T, dev, layoutDir, target string) *bundle.Bundle {
	t.Helper()
	digest := strings.TrimSpace(mustJailimg(t, "-q", "unpack", "--device", dev, layoutDir, target))
	b, err := bundle.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	if b.Meta.ManifestDigest != digest {
		t.Fatalf("jailimg unpack printed %q, the bundle holds %q", digest, b.Meta.ManifestDigest)
	}
	opts := loopdev.Options(target)
	if !slices.Contains(opts, "ro") || !slices.Contains(opts, "nosuid") || !slices.Contains(opts, "nodev") {
		t.Fatalf("%s is mounted %v; want ro, nosuid, nodev", target, opts)
	}
	return b
}
