package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: flags and arguments that cannot work exit 2 with one line
// naming the flag, before anything runs.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	recipe := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(recipe, []byte("name: x\nbinaries: [/usr/bin/true]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"quiet and verbose", []string{"-q", "-v", "inspect", dir}, "--verbose and --quiet"},
		{"tag with a slash", []string{"build", "--tag", "a b/../c", "-o", filepath.Join(dir, "out"), recipe}, `--tag "a b/../c"`},
		{"tag with a colon", []string{"build", "--tag", "1:2", "-o", filepath.Join(dir, "out"), recipe}, `--tag "1:2"`},
		{"lib leaving the root", []string{"resolve", "--lib", "../../etc/passwd", "/usr/bin/true"}, `--lib "../../etc/passwd"`},
		{"empty binary", []string{"resolve", ""}, `binary ""`},
		{"network", []string{"run", "--network", "bogus", dir}, `--network "bogus"`},
		{"rlimit name", []string{"run", "--rlimit", "bogus=1", dir}, `--rlimit "bogus=1"`},
		{"pid namespace", []string{"run", "--pid", "bogus", dir}, `--pid "bogus"`},
		{"ipc namespace", []string{"run", "--ipc", "bogus", dir}, `--ipc "bogus"`},
		{"tmpfs size", []string{"run", "--tmpfs-size", "0", dir}, `--tmpfs-size "0"`},
		{"syslog rate", []string{"run", "--syslog-rate", "-1", dir}, `--syslog-rate -1`},
		{"profile without seccomp", []string{"run", "--no-seccomp", "--seccomp-profile", recipe, dir}, `--no-seccomp`},
		{"trace state without a jail", []string{"trace", "--state", dir, "--", "/usr/bin/true"}, `--state`},
		{"size suffix", []string{"unpack", "--max-bytes", "1P", dir, filepath.Join(dir, "t")}, `"1P"`},
		{"reference without a host", []string{"pull", "jails/nginx:1", filepath.Join(dir, "l")}, `"jails/nginx:1" names no registry host`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := jailimg(t, dir, nil, tc.args...)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("jailimg %q: exit %d, stderr %q; want exit %d and one line naming %q", tc.args, res.code, res.stderr, exitUsage, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a refused command wrote into %s: %v", dir, entries)
	}
}
