package run

import (
	"slices"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/run/mounts"
)

// TestCheckTmpfsSize: a tmpfs size the operator did not choose is refused
// when the tmpfs mounts, all full, would hold more than half of the host's
// memory, whether the size is large or the mounts many.
func TestCheckTmpfsSize(t *testing.T) {
	const gib = 1 << 30
	runtime := mounts.Dir{Path: "/run/x", Kind: mounts.Runtime}
	tmp := mounts.Dir{Path: "/tmp", Kind: mounts.Tmp}
	state := mounts.Dir{Path: "/var/lib/x", Kind: mounts.Persistent}
	for _, tc := range []struct {
		name   string
		dirs   []mounts.Dir
		size   uint64
		mem    uint64
		refuse string // "" when accepted
	}{
		{"one tmpfs, half of memory", []mounts.Dir{tmp}, 8 * gib, 16 * gib, ""},
		{"one tmpfs, over half", []mounts.Dir{tmp}, 8*gib + 1, 16 * gib, "run.tmpfs_size 8589934593 × 1 tmpfs mounts"},
		{"two tmpfs, a quarter each", []mounts.Dir{tmp, runtime}, 4 * gib, 16 * gib, ""},
		{"two tmpfs, over a quarter each", []mounts.Dir{tmp, runtime}, 5 * gib, 16 * gib, "run.tmpfs_size 5G × 2 tmpfs mounts (run.runtime, run.tmp, --tmpfs) could hold more than half of this host's memory (16.0 GiB)"},
		{"64G on a 24G host", []mounts.Dir{tmp}, 64 * gib, 24 * gib, "run.tmpfs_size 64G"},
		{"400 runtime dirs at 64M on a 24G host", slices.Repeat([]mounts.Dir{runtime}, 400), 64 << 20, 24 * gib, "run.tmpfs_size 64M × 400 tmpfs mounts"},
		{"state is not a tmpfs", []mounts.Dir{state}, 64 * gib, 24 * gib, ""},
		{"memory unknown", []mounts.Dir{tmp}, 64 * gib, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &spec{Mounts: tc.dirs, TmpfsSize: tc.size}
			err := s.checkTmpfsSize("run.tmpfs_size "+policy.Size(tc.size).String(), tc.mem)
			switch {
			case tc.refuse == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse) || !strings.Contains(err.Error(), "--tmpfs-size")):
				t.Errorf("error %v; want one naming %q and --tmpfs-size", err, tc.refuse)
			}
		})
	}
}
