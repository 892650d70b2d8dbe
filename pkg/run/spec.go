package run

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/policy"
)

// spec is everything the init child needs, sent to it as JSON on fd 3.
type spec struct {
	Root string `json:"root"`
	// RootID is the identity of the bundle's rootfs that bundle.Open
	// checked; the init child chroots only into that directory.
	RootID      *bundle.FileID    `json:"rootID,omitempty"`
	Argv        []string          `json:"argv"`
	Env         []string          `json:"env"`
	Dir         string            `json:"dir"`
	User        string            `json:"user"`
	AllowRoot   bool              `json:"allowRoot,omitempty"`
	Umask       uint32            `json:"umask"`
	Rlimits     map[string]uint64 `json:"rlimits,omitempty"`
	Seccomp     *Profile          `json:"seccomp,omitempty"`
	Landlock    bool              `json:"landlock,omitempty"`
	Writable    []string          `json:"writable,omitempty"`
	NetworkNone bool              `json:"networkNone,omitempty"`
	Strict      bool              `json:"strict,omitempty"`
	// Traced makes the init call PTRACE_TRACEME right before it loads
	// seccomp and execs the service (Launch.StartTraced).
	Traced bool `json:"traced,omitempty"`
}

// defaultPath is the PATH a service gets when its config sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolveTarget reads TARGET (a bundle or a plain jail directory) and merges
// its image config and Policy with the options into a spec.
func resolveTarget(target string, o *options) (*spec, error) {
	s := &spec{User: o.user, AllowRoot: o.allowRoot, Strict: o.strict}
	var pol policy.Policy
	var entry, cmd, env []string
	b, err := bundle.Open(target)
	switch {
	case err == nil:
		// Root re-checks, without following a symlink, that the rootfs is
		// still the directory Open checked: the path handed to chroot.
		if s.Root, err = b.Root(); err != nil {
			return nil, err
		}
		id := b.RootID()
		s.RootID = &id
		cfg := b.Meta.Config.Config
		entry, cmd, env, s.Dir = cfg.Entrypoint, cfg.Cmd, cfg.Env, cfg.WorkingDir
		if s.User == "" {
			s.User = cfg.User
		}
		if pol, err = b.Policy(); err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
	case errors.Is(err, bundle.ErrNotBundle):
		st, serr := os.Stat(target)
		if serr != nil {
			return nil, serr
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s: not a directory: want a bundle or a jail directory", target)
		}
		s.Root = target
	default:
		return nil, err
	}
	if s.Root, err = filepath.Abs(s.Root); err != nil {
		return nil, err
	}

	if o.hasEntry {
		entry = o.entrypoint
	}
	if o.cmd != nil {
		cmd = o.cmd
	}
	s.Argv = append(slices.Clone(entry), cmd...)
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return nil, fmt.Errorf("%s: no command: the image config has no entrypoint or cmd; give one after --", target)
	}
	if s.User == "" {
		return nil, fmt.Errorf("%s: no user: the image config names none; pass --user", target)
	}
	s.Env = mergeEnv(env, o.env)
	if o.workdir != "" {
		s.Dir = o.workdir
	}
	if s.Dir == "" {
		s.Dir = "/"
	}
	if !path.IsAbs(s.Dir) {
		return nil, fmt.Errorf("workdir %q: must be an absolute jail path", s.Dir)
	}
	return s, applyPolicy(s, pol, o)
}

// applyPolicy fills the confinement fields of s from pol, overridden field
// by field by the options.
func applyPolicy(s *spec, pol policy.Policy, o *options) error {
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
	s.Rlimits = map[string]uint64{}
	for k, v := range pol.Rlimits {
		s.Rlimits[k] = v
	}
	for k, v := range o.rlimits {
		s.Rlimits[k] = v
	}
	for k := range s.Rlimits {
		if _, ok := rlimitNames[k]; !ok {
			return fmt.Errorf("rlimit %q: unknown (want one of %s)", k, strings.Join(rlimitList(), ", "))
		}
	}

	if on := pol.Seccomp; o.seccomp == nil && on || o.seccomp != nil && *o.seccomp {
		s.Seccomp = o.profile
		if s.Seccomp == nil {
			s.Seccomp = DefaultProfile()
		}
	}
	s.Landlock = pol.Landlock
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

// mergeEnv returns base with over applied (equal keys replaced), plus a
// default PATH when neither sets one.
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") || e == k })
		out = append(out, kv)
	}
	if !slices.ContainsFunc(out, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		out = append(out, defaultPath)
	}
	return out
}
