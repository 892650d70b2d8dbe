package run

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/run/mounts"
)

// applyPolicy fills the confinement fields of s from pol, overridden field
// by field by the options.
func applyPolicy(s *spec, pol policy.Policy, o *options) error {
	if err := s.umask(pol, o); err != nil {
		return err
	}
	if err := s.rlimits(pol, o); err != nil {
		return err
	}
	s.seccomp(pol, o)
	if err := s.mounts(pol, o); err != nil {
		return err
	}
	if err := s.landlock(pol, o); err != nil {
		return err
	}
	if err := s.namespaces(pol, o); err != nil {
		return err
	}
	warnOptOuts(pol, o)
	return s.network(pol, o)
}

// keepers are the options that keep a default confinement the policy
// turns off, by policy.OptOuts' entries.
var keepers = map[string]string{
	"seccomp: false": "--seccomp", "landlock: false": "--landlock", "pid: host": "--pid private", "ipc: host": "--ipc private",
}

// warnOptOuts warns of each default confinement the image's run policy
// turns off and no option decides on: the image, not the admin, chose it,
// and a plain run must say so, not only jailimg check.
func warnOptOuts(pol policy.Policy, o *options) {
	decided := map[string]bool{"seccomp: false": o.seccomp != nil, "landlock: false": o.landlock != nil,
		"pid: host": o.pid != nil, "ipc: host": o.ipc != nil}
	for _, out := range pol.OptOuts() {
		if !decided[out] {
			o.logger.Warn("the image's run policy turns off a default confinement; running without it", "run", out, "keep", keepers[out])
		}
	}
}

// umask sets the umask: the option's, else the policy's, else 077.
func (s *spec) umask(pol policy.Policy, o *options) error {
	s.Umask = 0o077
	if pol.Umask != 0 {
		s.Umask = uint32(pol.Umask)
	}
	if o.umask != nil {
		s.Umask = *o.umask
	}
	if s.Umask > 0o777 {
		return fmt.Errorf("umask %o: above 0777", s.Umask)
	}
	return nil
}

// rlimits sets the policy's rlimits, each overridden by the option's for
// that name, over defaultRlimits, and refuses a name setrlimit(2) has no
// resource for.
func (s *spec) rlimits(pol policy.Policy, o *options) error {
	s.Rlimits = defaultRlimits()
	maps.Copy(s.Rlimits, pol.Rlimits)
	maps.Copy(s.Rlimits, o.rlimits)
	for k := range s.Rlimits {
		if _, ok := rlimitNames[k]; !ok {
			return fmt.Errorf("rlimit %q: unknown (want one of %s)", k, strings.Join(rlimitList(), ", "))
		}
	}
	return nil
}

// seccomp sets the filter when the option, else the policy, turns it on:
// the option's profile, else defaultProfile.
func (s *spec) seccomp(pol policy.Policy, o *options) {
	if on := pol.SeccompOn(); o.seccomp == nil && on || o.seccomp != nil && *o.seccomp {
		s.Seccomp = o.profile
		if s.Seccomp == nil {
			s.Seccomp = defaultProfile()
		}
	}
}

// landlock sets Landlock and its writable directories: those jailimg
// mounts for the service, then the option's, else the policy's. A
// writable directory must be an absolute jail path.
func (s *spec) landlock(pol policy.Policy, o *options) error {
	s.Landlock = pol.LandlockOn()
	if o.landlock != nil {
		s.Landlock = *o.landlock
	}
	extra := pol.Writable
	if o.writable != nil {
		extra = o.writable
	}
	s.Writable = nil
	for _, m := range s.Mounts {
		s.Writable = append(s.Writable, m.Path)
	}
	s.Writable = append(s.Writable, extra...)
	for i, w := range s.Writable {
		if !path.IsAbs(w) {
			return fmt.Errorf("writable %q: must be an absolute jail path", w)
		}
		s.Writable[i] = path.Clean(w)
	}
	return nil
}

// network sets the network mode: the option's, else the policy's; "" and
// "host" keep the host's network, "none" asks for a fresh namespace.
func (s *spec) network(pol policy.Policy, o *options) error {
	network := pol.Network
	if o.network != nil {
		network = *o.network
	}
	switch network {
	case "", "host":
	case "none":
		s.NetworkNone = true
	default:
		return fmt.Errorf("network %q: want \"host\" or \"none\"", network)
	}
	return nil
}

// mounts sets what the init mounts: the policy's runtime directories and
// the option's, its state, cache and logs directories below STATE (the
// option's, else /var/lib/jailimg/NAME), /tmp, host files and /dev/log,
// each tmpfs capped at the option's size, else the policy's, else 64 MiB.
func (s *spec) mounts(pol policy.Policy, o *options) error {
	add := func(kind mounts.Kind, key string, dirs []string) {
		for _, d := range dirs {
			s.Mounts = append(s.Mounts, mounts.Dir{Path: d, Kind: kind, Key: key})
		}
	}
	add(mounts.Runtime, "run.runtime", pol.Runtime)
	add(mounts.Runtime, "--tmpfs", o.tmpfs)
	add(mounts.Persistent, "run.state", pol.State)
	add(mounts.Persistent, "run.cache", pol.Cache)
	add(mounts.Persistent, "run.logs", pol.Logs)
	if pol.Tmp {
		add(mounts.Tmp, "run.tmp", []string{"/tmp"})
	}
	for _, m := range s.Mounts {
		if !path.IsAbs(m.Path) || path.Clean(m.Path) == "/" {
			return fmt.Errorf("%s %q: want an absolute jail path other than /", m.Key, m.Path)
		}
	}
	s.TmpfsSize = uint64(cmp.Or(policy.Size(o.tmpfsSize), pol.TmpfsSize, policy.DefaultTmpfsSize))
	if o.tmpfsSize == 0 {
		size := "run.tmpfs_size " + policy.Size(s.TmpfsSize).String()
		if pol.TmpfsSize == 0 {
			size = "the default tmpfs size " + policy.Size(s.TmpfsSize).String()
		}
		if err := s.checkTmpfsSize(size, hostMemory()); err != nil {
			return err
		}
	}
	s.Hostfiles = slices.Clone(pol.Hostfiles)
	for _, h := range s.Hostfiles {
		if !slices.Contains(policy.HostFiles, h) {
			return fmt.Errorf("run.hostfiles %q: want one of %s", h, strings.Join(policy.HostFiles, ", "))
		}
	}
	s.Syslog = pol.Syslog
	return s.state(o)
}

// checkTmpfsSize refuses a tmpfs size the operator did not choose (size
// names it: the image's run.tmpfs_size or the default) that would let the
// tmpfs mounts, as many as the image's run.runtime and run.tmp make, hold
// more than half of mem, the host's memory, which is also the kernel's
// default cap of one tmpfs: tmpfs pages are memory, and without a memory
// cgroup the jail could take the host's memory through them. The
// operator's --tmpfs-size is not checked; nor is anything when the host's
// memory is unknown (mem 0), rather than refusing every jail.
func (s *spec) checkTmpfsSize(size string, mem uint64) error {
	n := uint64(0)
	for _, m := range s.Mounts {
		if m.Kind == mounts.Runtime || m.Kind == mounts.Tmp {
			n++
		}
	}
	if n == 0 || mem == 0 || s.TmpfsSize <= mem/2/n {
		return nil
	}
	return fmt.Errorf("%s × %d tmpfs mounts (run.runtime, run.tmp, --tmpfs) could hold more than half of this host's memory (%.1f GiB); pass --tmpfs-size to choose their size",
		size, n, float64(mem)/(1<<30))
}

// hostMemory is the host's memory in bytes, 0 when unknown.
func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// state sets STATE when a directory lives there: the option's, else
// /var/lib/jailimg/NAME.
func (s *spec) state(o *options) error {
	if !slices.ContainsFunc(s.Mounts, func(m mounts.Dir) bool { return m.Kind == mounts.Persistent }) {
		return nil
	}
	switch {
	case o.state != "":
		abs, err := filepath.Abs(o.state)
		if err != nil {
			return fmt.Errorf("state %s: %w", o.state, err)
		}
		s.State = abs
	case s.Name != "":
		s.State = path.Join(DefaultStateRoot, s.Name)
	default:
		return errors.New("the image declares state, cache or logs directories but has no name to keep them under: pass --state DIR")
	}
	return nil
}

// DefaultStateRoot holds each jail's default STATE, /var/lib/jailimg/NAME.
const DefaultStateRoot = "/var/lib/jailimg"

// namespaces sets the pid and IPC namespaces: the option's, else the
// policy's, else private ones.
func (s *spec) namespaces(pol policy.Policy, o *options) error {
	for _, ns := range []struct {
		name string
		pol  string
		opt  *string
		host *bool
	}{{"pid", pol.PID, o.pid, &s.PIDHost}, {"ipc", pol.IPC, o.ipc, &s.IPCHost}} {
		mode := ns.pol
		if ns.opt != nil {
			mode = *ns.opt
		}
		switch mode {
		case "", policy.Private:
		case policy.Host:
			*ns.host = true
		default:
			return fmt.Errorf("%s %q: want %q or %q", ns.name, mode, policy.Private, policy.Host)
		}
	}
	return nil
}
