package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Label is the image config label that carries a Policy as JSON.
const Label = "dev.jailimg.policy"

// Policy is how a jail asks to be run, beyond what an OCI config can say.
// A recipe's `run:` section decodes into it; the build stores it as JSON in
// the image config label Label; `jailimg run` reads it back, and its
// flags override it field by field.
type Policy struct {
	// Writable lists the jail paths the service may write (e.g. /var/log/nginx).
	// With Landlock, everything else in the jail is read-only.
	Writable []string `json:"writable,omitempty" yaml:"writable"`
	// Rlimits maps a limit name (cpu, nofile, nproc, fsize, as, core, data,
	// stack, memlock) to its value, applied as both soft and hard limit.
	Rlimits map[string]uint64 `json:"rlimits,omitempty" yaml:"rlimits"`
	// Seccomp enables the default-deny list of escape-prone system calls.
	Seccomp bool `json:"seccomp,omitempty" yaml:"seccomp"`
	// Landlock confines the service to the jail, read-only but Writable.
	Landlock bool `json:"landlock,omitempty" yaml:"landlock"`
	// Network is "" or "host" (the host's network) or "none" (a fresh
	// namespace with loopback only).
	Network string `json:"network,omitempty" yaml:"network"`
	// Accept lists the kinds of `jailimg check` finding the jail has on
	// purpose, e.g. [interpreter] for a debug jail with a shell: they are
	// still reported, marked accepted, but do not fail the check.
	Accept []string `json:"accept,omitempty" yaml:"accept"`
	// Umask is the file mode creation mask; 0 means the default 077.
	Umask Octal `json:"umask,omitempty" yaml:"umask"`
}

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

// IsZero reports whether the policy asks for nothing beyond the defaults.
func (p Policy) IsZero() bool {
	return len(p.Writable) == 0 && len(p.Rlimits) == 0 && !p.Seccomp && !p.Landlock && p.Network == "" && p.Umask == 0 && len(p.Accept) == 0
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
