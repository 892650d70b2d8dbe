package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Label is the image config label that carries a Policy as JSON.
const Label = "dev.jailimg.policy"

// Namespace modes of Policy.PID and Policy.IPC.
const (
	// Private is a namespace of the jail's own: the default.
	Private = "private"
	// Host shares the host's namespace: an opt-out that check reports.
	Host = "host"
)

// Policy is how a jail asks to be run, beyond what an OCI config can say.
// A recipe's `run:` section decodes into it; the build stores it as JSON in
// the image config label Label; `jailimg run` reads it back, and its
// flags override it field by field.
//
// The confined settings are the defaults: a field left out (nil, "") means
// seccomp on, Landlock on, private pid and IPC namespaces. Turning one off
// is an explicit value, which OptOuts lists and `jailimg check` reports.
type Policy struct {
	// Runtime lists jail directories that get a fresh, size-capped tmpfs
	// at each start, with the image directory's owner and mode (pid files,
	// sockets: e.g. /run/nginx).
	Runtime []string `json:"runtime,omitempty" yaml:"runtime"`
	// State, Cache and Logs list jail directories kept on the host, below
	// `jailimg run --state DIR`, across restarts and upgrades: each is
	// bind-mounted from DIR/<path in the jail>, created on first start
	// with the image directory's owner and mode.
	State []string `json:"state,omitempty" yaml:"state"`
	Cache []string `json:"cache,omitempty" yaml:"cache"`
	Logs  []string `json:"logs,omitempty" yaml:"logs"`
	// Tmp gives the jail a private tmpfs on /tmp, mode 1777.
	Tmp bool `json:"tmp,omitempty" yaml:"tmp"`
	// TmpfsSize caps each tmpfs (Runtime, Tmp); 0 means 64 MiB.
	TmpfsSize Size `json:"tmpfs_size,omitempty" yaml:"tmpfs_size"`
	// Syslog gives the jail a /dev/log socket whose messages jailimg run
	// relays, tagged and rate-limited, to the host's syslog.
	Syslog bool `json:"syslog,omitempty" yaml:"syslog"`
	// Hostfiles lists host files bound read-only into the jail at run
	// time: only /etc/resolv.conf, /etc/hosts and /etc/localtime.
	Hostfiles []string `json:"hostfiles,omitempty" yaml:"hostfiles"`
	// Writable lists further jail paths the service may write under
	// Landlock, beyond the directories above (which it may always write).
	Writable []string `json:"writable,omitempty" yaml:"writable"`
	// Rlimits maps a limit name (cpu, nofile, nproc, fsize, as, core, data,
	// stack, memlock) to its value, applied as both soft and hard limit.
	Rlimits map[string]uint64 `json:"rlimits,omitempty" yaml:"rlimits"`
	// Seccomp loads the default deny list of escape-prone system calls;
	// nil means on, false opts out.
	Seccomp *bool `json:"seccomp,omitempty" yaml:"seccomp"`
	// Landlock confines the service to the jail, read-only but the
	// directories above and Writable; nil means on, false opts out.
	Landlock *bool `json:"landlock,omitempty" yaml:"landlock"`
	// Network is "" or "host" (the host's network) or "none" (a fresh
	// namespace with loopback only).
	Network string `json:"network,omitempty" yaml:"network"`
	// PID and IPC are "" or Private (namespaces of the jail's own, the
	// default) or Host (the host's: an opt-out).
	PID string `json:"pid,omitempty" yaml:"pid"`
	IPC string `json:"ipc,omitempty" yaml:"ipc"`
	// Accept lists the kinds of `jailimg check` finding the jail has on
	// purpose, e.g. [interpreter] for a debug jail with a shell: they are
	// still reported, marked accepted, but do not fail the check.
	Accept []string `json:"accept,omitempty" yaml:"accept"`
	// Umask is the file mode creation mask; 0 means the default 077.
	Umask Octal `json:"umask,omitempty" yaml:"umask"`
}

// HostFiles lists the host files Policy.Hostfiles may name.
var HostFiles = []string{"/etc/hosts", "/etc/localtime", "/etc/resolv.conf"}

// DefaultTmpfsSize is the cap of a tmpfs when Policy.TmpfsSize is 0.
const DefaultTmpfsSize Size = 64 << 20

// Octal is a number written in octal in text forms such as recipes
// ("027", "0o027"); in JSON it is a plain number.
type Octal uint32

// UnmarshalJSON accepts a plain number (what encoding/json writes for an
// Octal) or an octal string.
func (o *Octal) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return o.UnmarshalText([]byte(s))
	}
	var v uint32
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("umask %s: %w", b, err)
	}
	*o = Octal(v)
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler, reading octal digits.
func (o *Octal) UnmarshalText(b []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(b), "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return fmt.Errorf("%q is not an octal number", b)
	}
	*o = Octal(v)
	return nil
}

// Size is a number of bytes, written in text forms such as recipes as a
// number with an optional binary suffix: 65536, 512K, 64M, 1G (K, M, G and
// KiB, MiB, GiB are powers of 1024). In JSON it is a plain number.
type Size uint64

// sizeUnits are the suffixes ParseSize accepts, longest first, and of the
// one-letter ones the largest first, as String tries them.
var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"G", 30}, {"M", 20}, {"K", 10}}

// ParseSize reads a Size: digits and an optional K, M or G suffix.
func ParseSize(s string) (Size, error) {
	num, shift := s, uint(0)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil || v > (1<<64-1)>>shift {
		return 0, fmt.Errorf("%q is not a size such as 65536, 512K, 64M or 1G", s)
	}
	return Size(v << shift), nil
}

// String writes z as ParseSize reads it: in the largest of G, M and K it
// is a whole number of, else in bytes.
func (z Size) String() string {
	for _, u := range sizeUnits {
		if len(u.suffix) == 1 && z >= 1<<u.shift && z%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", z>>u.shift, u.suffix)
		}
	}
	return strconv.FormatUint(uint64(z), 10)
}

// UnmarshalText implements encoding.TextUnmarshaler (ParseSize).
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	*z = v
	return err
}

// UnmarshalJSON accepts a plain number (what encoding/json writes for a
// Size) or a string ParseSize reads.
func (z *Size) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return z.UnmarshalText([]byte(s))
	}
	var v uint64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("size %s: %w", b, err)
	}
	*z = Size(v)
	return nil
}

// SeccompOn reports whether the policy keeps the seccomp filter (the default).
func (p Policy) SeccompOn() bool { return p.Seccomp == nil || *p.Seccomp }

// LandlockOn reports whether the policy keeps Landlock (the default).
func (p Policy) LandlockOn() bool { return p.Landlock == nil || *p.Landlock }

// OptOuts lists, as "key: value", each confinement the policy turns off:
// seccomp, Landlock, the private pid or IPC namespace.
func (p Policy) OptOuts() []string {
	var out []string
	if !p.SeccompOn() {
		out = append(out, "seccomp: false")
	}
	if !p.LandlockOn() {
		out = append(out, "landlock: false")
	}
	if p.PID == Host {
		out = append(out, "pid: host")
	}
	if p.IPC == Host {
		out = append(out, "ipc: host")
	}
	return out
}

// Mounted returns every directory jailimg run mounts something on for the
// service to write: Runtime, State, Cache, Logs, and /tmp with Tmp.
func (p Policy) Mounted() []string {
	out := slices.Concat(p.Runtime, p.State, p.Cache, p.Logs)
	if p.Tmp {
		out = append(out, "/tmp")
	}
	return out
}

// IsZero reports whether the policy asks for nothing beyond the defaults.
func (p Policy) IsZero() bool {
	return len(p.Mounted()) == 0 && p.TmpfsSize == 0 && !p.Syslog && len(p.Hostfiles) == 0 &&
		len(p.Writable) == 0 && len(p.Rlimits) == 0 && p.Seccomp == nil && p.Landlock == nil &&
		p.Network == "" && p.PID == "" && p.IPC == "" && p.Umask == 0 && len(p.Accept) == 0
}

// FromConfig reads the Policy stored in an image config's labels: a zero
// Policy when the image has none.
func FromConfig(cfg *v1.ConfigFile) (Policy, error) {
	var p Policy
	raw, ok := cfg.Config.Labels[Label]
	if !ok {
		return p, nil
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, fmt.Errorf("image label %s: %w", Label, err)
	}
	return p, nil
}
