package run_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/jailimg/jailimg/pkg/run"
)

func TestLoadProfile(t *testing.T) {
	tests := []struct {
		name, yaml, err string
	}{
		{"deny list", "deny: [mount, ptrace]\n", ""},
		{"json", `{"deny": ["chroot"], "action": "kill"}`, ""},
		{"conditional", "deny_if:\n  - syscall: mknod\n    args:\n      - {index: 1, op: bits_any, value: 0o060000}\n", ""},
		{"unknown syscall", "deny: [mount, frobnicate]\n", "frobnicate"},
		{"unknown key", "deny: [mount]\nallow: [read]\n", "allow"},
		{"unknown op", "deny_if:\n  - syscall: mknod\n    args: [{index: 1, op: like, value: 1}]\n", `op "like"`},
		{"bad index", "deny_if:\n  - syscall: mknod\n    args: [{index: 6, op: eq, value: 1}]\n", "index 6"},
		{"no args", "deny_if:\n  - syscall: mknod\n", "want 1 to 6 args"},
		{"bad action", "deny: [mount]\naction: trace\n", `action "trace"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "profile.yaml")
			must(t, os.WriteFile(name, []byte(tt.yaml), 0o644))
			_, err := run.LoadProfile(name)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("LoadProfile: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), name)):
				t.Errorf("LoadProfile = %v, want an error naming %s and %q", err, name, tt.err)
			}
		})
	}
}

func TestDefaultProfileAssembles(t *testing.T) {
	p := run.DefaultProfile()
	for _, must := range []string{"mount", "umount2", "pivot_root", "chroot", "ptrace", "process_vm_readv",
		"process_vm_writev", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
		"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "unshare", "setns",
		"open_by_handle_at", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
		"kcmp", "pidfd_getfd", "process_madvise", "listmount", "statmount", "uselib", "sethostname"} {
		found := false
		for _, d := range p.Deny {
			found = found || d == must
		}
		if !found {
			t.Errorf("default profile does not deny %s", must)
		}
	}
	name := filepath.Join(t.TempDir(), "default.yaml")
	b, err := yamlOf(p)
	must(t, err)
	must(t, os.WriteFile(name, b, 0o644))
	if _, err := run.LoadProfile(name); err != nil {
		t.Errorf("the default profile does not load back: %v", err)
	}
}

func yamlOf(p *run.Profile) ([]byte, error) { return yaml.Marshal(p) }
