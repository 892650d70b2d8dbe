package check

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/jailimg/jailimg/internal/printable"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/passwd"
	"github.com/jailimg/jailimg/pkg/policy"
)

// Kind names a class of finding.
type Kind string

// The kinds of finding.
const (
	KindSetuid        Kind = "setuid"
	KindSetgid        Kind = "setgid"
	KindCapability    Kind = "capability"
	KindWorldWritable Kind = "world-writable"
	KindDevice        Kind = "device"
	KindInterpreter   Kind = "interpreter"
	KindUserWritable  Kind = "user-writable"
	KindPasswd        Kind = "passwd"
	KindHardlink      Kind = "hardlink"
	KindMount         Kind = "mount"
	// KindOptOut is an image whose run policy turns off a confinement
	// jailimg run applies by default: seccomp, Landlock, the private pid
	// or IPC namespace.
	KindOptOut Kind = "opt-out"
)

// ErrFindings is returned by callers (the CLI) that turn findings into a failure.
var ErrFindings = errors.New("jail has findings")

// Finding is one weakness of a jail.
type Finding struct {
	Kind Kind `json:"kind"`
	// Path is the jail path, e.g. "/usr/bin/perl".
	Path   string `json:"path"`
	Detail string `json:"detail"`
	// Accepted is set for a kind the jail declares it has on purpose (WithAccept).
	Accepted bool `json:"accepted,omitempty"`
}

// String formats f as one line.
func (f Finding) String() string {
	s := fmt.Sprintf("%s\t%s\t%s", f.Kind, printable.Quote(f.Path), printable.Quote(f.Detail))
	if f.Accepted {
		s += "\t(accepted)"
	}
	return s
}

// imageAcceptable lists the kinds an image's own policy (a recipe's
// run.accept) may accept: design choices such as a debug jail's shell. The
// image is what is being audited, so it cannot waive the others.
var imageAcceptable = []Kind{KindInterpreter, KindUserWritable}

// Kinds lists every kind of finding Run reports.
var Kinds = []Kind{KindSetuid, KindSetgid, KindCapability, KindWorldWritable, KindDevice, KindInterpreter, KindUserWritable, KindPasswd, KindHardlink, KindMount, KindOptOut}

// Failing returns the findings that are not accepted.
func Failing(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if !f.Accepted {
			out = append(out, f)
		}
	}
	return out
}

// Option configures Run.
type Option func(*options)

type options struct {
	user     string
	writable []string
	accept   []Kind
	optOuts  []string
}

// WithAccept marks findings of the given kinds as accepted: the jail has
// them on purpose. Default: none.
func WithAccept(kinds ...Kind) Option {
	return func(o *options) { o.accept = append(o.accept, kinds...) }
}

// WithUser names the service user, "NAME|UID[:GROUP|GID]" as in the jail's
// /etc/passwd; files it may write outside the writable directories are
// findings. Default: none, and that check is skipped.
func WithUser(spec string) Option { return func(o *options) { o.user = spec } }

// WithWritable declares the jail directories the service may write.
// Default: none.
func WithWritable(dirs ...string) Option {
	return func(o *options) { o.writable = append(o.writable, dirs...) }
}

// WithPolicy audits a run policy too: each confinement it turns off
// (seccomp, Landlock, the private pid or IPC namespace) is a finding of
// kind KindOptOut on the jail's root. Default: none.
func WithPolicy(p policy.Policy) Option {
	return func(o *options) { o.optOuts = append(o.optOuts, p.OptOuts()...) }
}

// ForBundle returns the options a bundle's image config and Policy imply:
// its user, its writable directories (those jailimg run mounts for it and
// run.writable), the kinds its policy accepts, and its policy's opt-outs.
// An image may accept only interpreter and user-writable findings, design
// choices such as a debug jail's shell: it is what is being audited, so a
// policy accepting any other kind is an error.
func ForBundle(b *bundle.Bundle) ([]Option, error) {
	pol, err := b.Policy()
	if err != nil {
		return nil, err
	}
	opts := []Option{WithWritable(append(pol.Mounted(), pol.Writable...)...), WithPolicy(pol)}
	for _, k := range pol.Accept {
		if !slices.Contains(imageAcceptable, Kind(k)) {
			return nil, fmt.Errorf("image policy accepts %q findings; an image may accept only %v (the auditor can pass --accept)", k, imageAcceptable)
		}
		opts = append(opts, WithAccept(Kind(k)))
	}
	if u := b.Meta.Config.Config.User; u != "" {
		opts = append(opts, WithUser(u))
	}
	return opts, nil
}

// Run audits the jail tree at root and returns its findings, sorted by path
// then kind. An error means the audit could not be completed.
func Run(ctx context.Context, root string, opts ...Option) ([]Finding, error) {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	st, err := os.Lstat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", root)
	}
	r, err := passwd.OpenRoot(root) // /etc/passwd and friends, found as the jail finds them
	if err != nil {
		return nil, err
	}
	defer r.Close()
	open := r.Open

	a := &audit{root: root, dev: st.Sys().(*syscall.Stat_t).Dev, links: map[uint64]*link{}}
	for _, w := range o.writable {
		if !path.IsAbs(w) {
			return nil, fmt.Errorf("writable %q: must be an absolute jail path", w)
		}
		a.writable = append(a.writable, path.Clean(w))
	}
	if o.user != "" {
		u, err := passwd.Lookup(open, o.user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
		a.user = &u
	}
	if err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return a.entry(p, d)
	}); err != nil {
		return nil, err
	}
	a.hardlinks()
	a.passwd(open)
	for _, opt := range o.optOuts {
		a.out = append(a.out, Finding{Kind: KindOptOut, Path: "/",
			Detail: "run policy " + opt + ": jailimg run turns this confinement off (it is on by default)"})
	}
	for i := range a.out {
		a.out[i].Accepted = slices.Contains(o.accept, a.out[i].Kind)
	}
	slices.SortFunc(a.out, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Detail, y.Detail))
	})
	return a.out, nil
}
