package tree

import (
	"errors"
	"fmt"
	"io/fs"
)

// ErrUnsafeMode is wrapped by the errors of Check.
var ErrUnsafeMode = errors.New("unsafe mode")

// Check reports, one error per path, every setuid or setgid entry and every
// world-writable file or directory without the sticky bit. Device nodes may
// be world-writable (/dev/null is 0666).
func (t *Tree) Check() error {
	var errs []error
	for _, e := range t.Walk() {
		var why string
		switch {
		case e.Type == Symlink:
			continue
		case e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0:
			why = "is setuid or setgid; give it an explicit mode in the recipe to clear the bits"
		case e.Type == Reg && e.Mode&0o002 != 0:
			why = "is a world-writable file"
		case e.Type == Dir && e.Mode&0o002 != 0 && e.Mode&fs.ModeSticky == 0:
			why = "is a world-writable directory without the sticky bit"
		default:
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s %s (mode %s): %w", e.Source, e.Path, why, e.Mode, ErrUnsafeMode))
	}
	return errors.Join(errs...)
}
