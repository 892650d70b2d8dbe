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

// TestCheckOptOut: `jailimg check` fails an image whose run policy turns
// seccomp or Landlock off, one opt-out finding each, which the image's
// own run.accept cannot waive and the auditor's --accept can; the same
// image with the defaults passes.
func TestCheckOptOut(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, run string
		want      []string
	}{
		{"defaults", "", nil},
		{"seccomp and landlock off", "run:\n  seccomp: false\n  landlock: false\n", []string{"landlock: false", "seccomp: false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jail := probeJail(t, dir, strings.ReplaceAll(tc.name, " ", "-"), tc.run)
			res := jailimg(t, "", nil, "check", jail)
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
				if f := strings.Split(line, "\t"); len(f) > 2 && f[0] == "opt-out" {
					opt, _, _ := strings.Cut(strings.TrimPrefix(f[2], "run policy "), ": jailimg run")
					got = append(got, opt)
				}
			}
			if wantCode := map[bool]int{true: 0, false: 1}[tc.want == nil]; res.code != wantCode || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("check: exit %d, opt-outs %q; want exit %d, %q\n%s%s", res.code, got, wantCode, tc.want, res.stdout, res.stderr)
			}
			if tc.want != nil {
				if res := jailimg(t, "", nil, "check", "--accept", "opt-out", jail); res.code != 0 {
					t.Errorf("check --accept opt-out: exit %d\n%s%s", res.code, res.stdout, res.stderr)
				}
			}
		})
	}
}
