package unpack

import (
	"errors"
	"fmt"
)

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrUnsafePath is returned for a name, link or whiteout that would
	// reach outside the root, or that cannot be resolved inside it (a
	// symlink loop, a file where a directory should be).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrPolicy is returned for an entry the policy refuses: setuid/setgid
	// bits, file capabilities, FIFOs, disallowed devices.
	ErrPolicy = errors.New("refused by policy")
	// ErrLimit is returned when a layer exceeds a Limits bound.
	ErrLimit = errors.New("limit exceeded")
	// ErrDigest is returned when a blob's digest or size differs from the
	// manifest or the config's diff_ids.
	ErrDigest = errors.New("digest mismatch")
	// ErrCorrupt is returned for a malformed layer: truncated or trailing
	// data, unsupported entry type, unknown media type, a whiteout whose
	// effect depends on the order of its layer's entries.
	ErrCorrupt = errors.New("corrupt layer")
)

// EntryError reports an entry of a layer that could not be applied.
type EntryError struct {
	// Layer is the index of the layer in the manifest, from 0.
	Layer int
	// Name is the entry's name as written in the tar header.
	Name string
	// Err is the cause; it wraps one of the sentinel errors.
	Err error
}

// Error implements error.
func (e *EntryError) Error() string {
	name := e.Name
	if len(name) > 200 {
		name = name[:200] + "…"
	}
	return fmt.Sprintf("layer %d: entry %q: %v", e.Layer, name, e.Err)
}

// Unwrap returns the cause.
func (e *EntryError) Unwrap() error { return e.Err }

// ErrDrift is wrapped by callers that report a non-empty Verify result as
// an error (the CLI does, to exit non-zero).
var ErrDrift = errors.New("bundle differs from image")

// IsBadImage reports whether err is one of the errors that blame the image
// (unsafe path, policy, limit, digest, corrupt layer) rather than the host.
func IsBadImage(err error) bool {
	for _, s := range []error{ErrUnsafePath, ErrPolicy, ErrLimit, ErrDigest, ErrCorrupt} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
