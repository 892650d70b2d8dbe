package run

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/pkg/policy"
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
	if err := s.landlock(pol, o); err != nil {
		return err
	}
	return s.network(pol, o)
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
// that name, and refuses a name setrlimit(2) has no resource for.
func (s *spec) rlimits(pol policy.Policy, o *options) error {
	s.Rlimits = map[string]uint64{}
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

// landlock sets Landlock and its writable directories: the option's, else
// the policy's. A writable directory must be an absolute jail path.
func (s *spec) landlock(pol policy.Policy, o *options) error {
	s.Landlock = pol.LandlockOn()
	if o.landlock != nil {
		s.Landlock = *o.landlock
	}
	s.Writable = slices.Clone(pol.Writable)
	if o.writable != nil {
		s.Writable = slices.Clone(o.writable)
	}
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
