package unpack

import (
	"fmt"
)

// SpaceError reports that the file system of an unpack's target has too
// little free space for the image. It wraps the errno (ENOSPC, or EDQUOT
// for a quota), so a caller sees a local failure, never a bad image.
type SpaceError struct {
	// Mount is the mount point of the target's file system.
	Mount string
	// Free is the bytes free there (for root, its reserved blocks
	// included) when the unpack started.
	Free int64
	// Need is what the image needs there, at least: the uncompressed size
	// of the uncompressed layers and the compressed size of the others
	// (their contents take more room unpacked), or, once a write failed,
	// the file bytes written so far plus the compressed bytes still to read.
	Need int64
	// Err is the errno.
	Err error
}

// Error implements error.
func (e *SpaceError) Error() string {
	return fmt.Sprintf("not enough free space on %s for the image: %s free, at least %s needed "+
		"(a new generation is written beside the live one: the file system needs room for both; see docs/boot.md): %v",
		e.Mount, human(e.Free), human(e.Need), e.Err)
}

// Unwrap returns the errno.
func (e *SpaceError) Unwrap() error { return e.Err }

// human writes a byte count in the binary unit that fits, with the exact
// count when it is not a whole number of that unit.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTP"[exp], n)
}

// spaceStep is how many bytes of file contents are written between two
// checks of the free space while unpacking.
const spaceStep = 16 << 20

// tick runs the checks due every so many entries: ctx, and the free space
// when a spaceCheck is set and spaceStep more bytes were written since
// the last one.
func (b *budget) tick(check func() error) error {
	if b.space == nil || b.written < b.spaceAt {
		return check()
	}
	b.spaceAt = b.written + spaceStep
	if err := b.space(b.remaining()); err != nil {
		return err
	}
	return check()
}

// remaining is the compressed bytes of the layers not read yet: what the
// unpack still needs on disk, at least.
func (b *budget) remaining() int64 {
	return max(0, b.total-b.read.Load())
}
