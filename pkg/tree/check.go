package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
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
			why = fmt.Sprintf("is setuid or setgid (mode %s); give it mode: %s in the recipe to clear the bits",
				octal(e.Mode), octal(e.Mode&fs.ModePerm))
		case e.Type == Reg && e.Mode&0o002 != 0:
			why = fmt.Sprintf("is a world-writable file (mode %s)", octal(e.Mode))
		case e.Type == Dir && e.Mode&0o002 != 0 && e.Mode&fs.ModeSticky == 0:
			why = fmt.Sprintf("is a world-writable directory without the sticky bit (mode %s)", octal(e.Mode))
		default:
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s %s: %w", e.Source, e.Path, why, ErrUnsafeMode))
	}
	return errors.Join(errs...)
}

// octal writes a mode's permission, setuid, setgid and sticky bits as a
// recipe writes them: 0755, 04755, 01777.
func octal(m fs.FileMode) string {
	v := uint32(m & fs.ModePerm)
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return "0" + strconv.FormatUint(uint64(v), 8)
}
