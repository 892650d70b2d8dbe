package run

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/internal/lazyre"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/run/mounts"
)

// spec is everything the jail's init and service child need, sent to each
// as JSON on fd 3.
type spec struct {
	Root string `json:"root"`
	// Name is the jail's name: its syslog tag and default state directory.
	Name string `json:"name,omitempty"`
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
	PIDHost     bool              `json:"pidHost,omitempty"`
	IPCHost     bool              `json:"ipcHost,omitempty"`
	// Mounts are the directories the init mounts something on; State is
	// where the persistent ones live on the host.
	Mounts    []mounts.Dir `json:"mounts,omitempty"`
	State     string       `json:"state,omitempty"`
	TmpfsSize uint64       `json:"tmpfsSize"`
	Hostfiles []string     `json:"hostfiles,omitempty"`
	Syslog    bool         `json:"syslog,omitempty"`
	// SyslogSocket is the launcher's relay socket the init binds over
	// /dev/log, in a directory only root can enter.
	SyslogSocket string `json:"syslogSocket,omitempty"`
	Strict       bool   `json:"strict,omitempty"`
	// TTY makes the service child a session leader with its stdin, a pty
	// slave, as controlling terminal.
	TTY bool `json:"tty,omitempty"`
	// Traced makes the service child wait, right before it loads seccomp
	// and execs the service, until its tracer has attached (Launch).
	Traced bool `json:"traced,omitempty"`
}

// defaultPath is the PATH a service gets when its config sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolveTarget reads TARGET (a bundle or a plain jail directory) and merges
// its image config and Policy with the options into a spec.
func resolveTarget(target string, o *options) (*spec, error) {
	s := &spec{User: o.user, AllowRoot: o.allowRoot, Strict: o.strict}
	cfg, pol, err := s.root(target)
	if err != nil {
		return nil, err
	}
	if err := s.command(target, cfg, o); err != nil {
		return nil, err
	}
	return s, applyPolicy(s, pol, o)
}

// root sets the tree the init chroots into: a bundle's checked rootfs,
// whose image config and Policy it returns, or a plain jail directory,
// which has neither.
func (s *spec) root(target string) (v1.Config, policy.Policy, error) {
	var cfg v1.Config
	var pol policy.Policy
	b, err := bundle.Open(target)
	switch {
	case err == nil:
		// Root re-checks, without following a symlink, that the rootfs is
		// still the directory Open checked: the path handed to chroot.
		if s.Root, err = b.Root(); err != nil {
			return cfg, pol, err
		}
		id := b.RootID()
		s.RootID = &id
		if pol, err = b.Policy(); err != nil {
			return cfg, pol, fmt.Errorf("%s: %w", target, err)
		}
		cfg = b.Meta.Config.Config
		if validName(b.Meta.Name) {
			s.Name = b.Meta.Name
		}
	case errors.Is(err, bundle.ErrNotBundle):
		if err := isDir(target); err != nil {
			return cfg, pol, err
		}
		s.Root = target
	default:
		return cfg, pol, err
	}
	s.Root, err = filepath.Abs(s.Root)
	if s.Name == "" && validName(filepath.Base(target)) {
		s.Name = filepath.Base(target)
	}
	return cfg, pol, err
}

// nameRE is what a jail's name must look like to name a directory (the
// recipe's rule for names): one path component, never "." or "..".
var nameRE = lazyre.New(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// validName reports whether name may name the jail's state directory.
func validName(name string) bool { return nameRE().MatchString(name) }

// isDir checks that a target that is no bundle is a directory.
func isDir(target string) error {
	st, err := os.Stat(target)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory: want a bundle or a jail directory", target)
	}
	return nil
}

// command sets what the service runs, as whom, where and with what
// environment: the image config cfg, overridden by the options.
func (s *spec) command(target string, cfg v1.Config, o *options) error {
	entry, cmd := cfg.Entrypoint, cfg.Cmd
	if o.hasEntry {
		entry = o.entrypoint
	}
	if o.cmd != nil {
		cmd = o.cmd
	}
	s.Argv = append(slices.Clone(entry), cmd...)
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return fmt.Errorf("%s: no command: the image config has no entrypoint or cmd; give one after --", target)
	}
	s.User = cmp.Or(s.User, cfg.User)
	if s.User == "" {
		return fmt.Errorf("%s: no user: the image config names none; pass --user", target)
	}
	s.Env = mergeEnv(cfg.Env, o.env)
	s.Dir = cmp.Or(o.workdir, cfg.WorkingDir, "/")
	if !path.IsAbs(s.Dir) {
		return fmt.Errorf("workdir %q: must be an absolute jail path", s.Dir)
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
