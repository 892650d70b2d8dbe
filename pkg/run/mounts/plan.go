package mounts

import "github.com/jailimg/jailimg/pkg/bundle"

// Kind is what Setup mounts on a directory of the jail.
type Kind int

const (
	// Runtime is a fresh tmpfs with the image directory's owner and mode.
	Runtime Kind = iota
	// Persistent is a bind of Plan.State/<path in the jail>.
	Persistent
	// Tmp is a tmpfs owned by root, mode 1777.
	Tmp
)

// Dir is one directory of the jail that Setup mounts something on.
type Dir struct {
	// Path is the absolute path in the jail: a directory of the image.
	Path string
	Kind Kind
	// Key names what asked for it in errors, e.g. "run.state".
	Key string
}

// Plan is what Setup mounts for one jail.
type Plan struct {
	// Root is the host path of the jail's rootfs; RootID, when set, is
	// the identity it must have (what bundle.Open checked).
	Root   string
	RootID *bundle.FileID
	// Dirs are mounted parents first, whatever their order here.
	Dirs []Dir
	// State is the host directory below which Persistent directories
	// live; required when there is one.
	State string
	// TmpfsSize caps every tmpfs, in bytes; it must not be 0.
	TmpfsSize uint64
	// Hostfiles are host files bound read-only over the jail's files of
	// the same path (placeholders the build writes).
	Hostfiles []string
	// Syslog is the host path of a Unix socket bound over the jail's
	// /dev/log (it must lie in a directory only root can enter: it is
	// opened by its path); empty for none.
	Syslog string
	// Warn receives what Setup skips: a host file the host lacks.
	Warn func(format string, args ...any)
}
