package unpack

import (
	"archive/tar"
	"fmt"
	"io"
)

// worldWritable holds a foreign image to the jail's rule, the one the build
// enforces (pkg/tree's Check): no world-writable file, and no
// world-writable directory without the sticky bit (a 1777 /tmp is fine).
// It masks o+w off such an entry before a applies it, counting what it
// changed, or, when strict, refuses the entry (ErrPolicy). Unpack and
// Verify both apply it, so that the model agrees with the disk. Devices
// (/dev/null is 0666), symlinks and hardlinks are left alone: a hardlink
// shares the mode of its target, masked already.
type worldWritable struct {
	applier
	strict bool
	masked int64  // entries whose mode was changed
	first  string // the first of them
}

// sticky is the sticky bit of a tar header's mode.
const sticky = 0o1000

func (w *worldWritable) check(name string, h *tar.Header) error {
	if h.Mode&0o002 == 0 || h.Typeflag == tar.TypeDir && h.Mode&sticky != 0 {
		return nil
	}
	if w.strict {
		what := "file"
		if h.Typeflag == tar.TypeDir {
			what = "directory without the sticky bit"
		}
		return fmt.Errorf("%w: world-writable %s, mode %#o (--strict)", ErrPolicy, what, h.Mode&0o7777)
	}
	h.Mode &^= 0o002
	if w.masked == 0 {
		w.first = "/" + name
	}
	w.masked++
	return nil
}

func (w *worldWritable) dir(name string, h *tar.Header) error {
	if err := w.check(name, h); err != nil {
		return err
	}
	return w.applier.dir(name, h)
}

func (w *worldWritable) file(name string, h *tar.Header, r io.Reader) error {
	if err := w.check(name, h); err != nil {
		return err
	}
	return w.applier.file(name, h, r)
}
