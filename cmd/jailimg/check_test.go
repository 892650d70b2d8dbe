package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckBrokenBundle: a directory with a current link that does not name a
// generation is a broken or tampered bundle, refused with exit 3, not audited
// as a plain (and nearly empty, so passing) jail directory.
func TestCheckBrokenBundle(t *testing.T) {
	for _, tc := range []struct {
		name, target string
	}{
		{"to the host root", "/"},
		{"to nothing", "gen-missing"},
		{"outside", "../x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Symlink(tc.target, filepath.Join(dir, "current")); err != nil {
				t.Fatal(err)
			}
			res := jailimg(t, "", nil, "check", dir)
			if res.code != exitInput || !strings.Contains(res.stderr, dir) || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
				t.Errorf("check of a bundle with current -> %s: exit %d, stderr %q; want exit %d and one line naming it", tc.target, res.code, res.stderr, exitInput)
			}
		})
	}
	// The control: a plain directory without current is audited, and passes.
	plain := t.TempDir()
	if res := jailimg(t, "", nil, "check", plain); res.code != 0 {
		t.Errorf("check of an empty plain directory: exit %d, stderr %q", res.code, res.stderr)
	}
}
