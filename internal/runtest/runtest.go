// Package runtest helps tests of code that starts jails with package run:
// it reads what the kernel says about a running service and checks that the
// service is confined. Any test binary that starts a jail with package run
// must call run.Main first in its TestMain.
package runtest

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// Status is the part of /proc/PID/status that says how a process is confined.
type Status struct {
	UID, GID   [4]uint32 // real, effective, saved, filesystem
	Groups     []uint32  // supplementary groups
	CapInh     uint64
	CapPrm     uint64
	CapEff     uint64
	CapBnd     uint64
	CapAmb     uint64
	NoNewPrivs int
	Seccomp    int // 0 none, 1 strict, 2 filter
}

// ReadStatus parses /proc/PID/status.
func ReadStatus(pid int) (*Status, error) {
	name := fmt.Sprintf("/proc/%d/status", pid)
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var s Status
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		val = strings.TrimSpace(val)
		switch key {
		case "Uid", "Gid":
			ids := &s.UID
			if key == "Gid" {
				ids = &s.GID
			}
			for i, fv := range strings.Fields(val) {
				if i < 4 {
					v, err := strconv.ParseUint(fv, 10, 32)
					if err != nil {
						return nil, fmt.Errorf("%s: %s: %w", name, key, err)
					}
					ids[i] = uint32(v)
				}
			}
		case "Groups":
			for _, fv := range strings.Fields(val) {
				v, err := strconv.ParseUint(fv, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("%s: Groups: %w", name, err)
				}
				s.Groups = append(s.Groups, uint32(v))
			}
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
			v, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, key, err)
			}
			*map[string]*uint64{"CapInh": &s.CapInh, "CapPrm": &s.CapPrm, "CapEff": &s.CapEff,
				"CapBnd": &s.CapBnd, "CapAmb": &s.CapAmb}[key] = v
		case "NoNewPrivs":
			s.NoNewPrivs, _ = strconv.Atoi(val)
		case "Seccomp":
			s.Seccomp, _ = strconv.Atoi(val)
		}
	}
	return &s, sc.Err()
}

// Confined returns an error naming every way the process pid differs from
// running as uid and gid with exactly groups, no capability in any set and
// no_new_privs set.
func Confined(pid int, uid, gid uint32, groups []uint32) error {
	s, err := ReadStatus(pid)
	if err != nil {
		return err
	}
	var bad []string
	if s.UID != [4]uint32{uid, uid, uid, uid} {
		bad = append(bad, fmt.Sprintf("Uid %v, want %d everywhere", s.UID, uid))
	}
	if s.GID != [4]uint32{gid, gid, gid, gid} {
		bad = append(bad, fmt.Sprintf("Gid %v, want %d everywhere", s.GID, gid))
	}
	g := slices.Sorted(slices.Values(s.Groups))
	if !slices.Equal(g, slices.Sorted(slices.Values(groups))) {
		bad = append(bad, fmt.Sprintf("Groups %v, want %v", s.Groups, groups))
	}
	for name, v := range map[string]uint64{"CapInh": s.CapInh, "CapPrm": s.CapPrm, "CapEff": s.CapEff,
		"CapBnd": s.CapBnd, "CapAmb": s.CapAmb} {
		if v != 0 {
			bad = append(bad, fmt.Sprintf("%s %016x, want 0", name, v))
		}
	}
	if s.NoNewPrivs != 1 {
		bad = append(bad, fmt.Sprintf("NoNewPrivs %d, want 1", s.NoNewPrivs))
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("pid %d not confined: %s", pid, strings.Join(bad, "; "))
	}
	return nil
}

// Service returns the host pid of the service a jail's init (the pid
// `jailimg run --pidfile` writes) runs: its only child. The init itself
// runs as root, unconfined, and holds nothing of the jail.
func Service(initPid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", initPid, initPid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(raw))
	if len(f) != 1 {
		return 0, fmt.Errorf("jail init %d has children %v, want one, the service", initPid, f)
	}
	return strconv.Atoi(f[0])
}

// NeedRoot skips the test unless it runs as root, and fails it instead
// when CI=true.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	testutil.NeedRoot(t, why)
}

// SampleConf returns the boot config at path (dist/jailimg.conf.example)
// with the settings of this test machine: each KEY=VALUE of set replaces
// the sample's line for KEY (or its commented-out "#KEY=" line), every
// other line is kept as shipped.
func SampleConf(t testing.TB, path string, set map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		key, _, ok := strings.Cut(strings.TrimPrefix(line, "#"), "=")
		if v, want := set[key]; ok && want && !done[key] {
			line, done[key] = key+"="+v, true
		}
		out = append(out, line)
	}
	for k, v := range set {
		if !done[k] {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(out, "\n")
}

// HostMountsUnder lists the mount points below dir in the caller's (the
// host's) mount namespace: a jail's mounts, had they leaked out of its
// private namespace, would be there.
func HostMountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for point := range Mounts(t, os.Getpid()) {
		if strings.HasPrefix(point, dir+"/") {
			out = append(out, point)
		}
	}
	slices.Sort(out)
	return out
}

// Mounts reads the mount table of pid's mount namespace, as pid sees its
// paths: each mount point's per-mount options and file system type,
// "OPTS FSTYPE" (the last mount wins where several stack).
func Mounts(t testing.TB, pid int) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if i := slices.Index(f, "-"); i > 5 && i+1 < len(f) {
			out[f[4]] = f[5] + " " + f[i+1]
		}
	}
	return out
}
