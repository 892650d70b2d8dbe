package recipe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mode is a permission mode written in octal, with or without a leading 0 or
// 0o: 755, 0755, "0o755" and "4755" all parse; "0x9" and 999 don't.
type Mode uint32

func (m *Mode) setScalar(s string) error {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O"), 8, 32)
	if err != nil || v > 0o7777 {
		return fmt.Errorf("%q is not an octal mode (e.g. 0755)", s)
	}
	*m = Mode(v)
	return nil
}

// noID is (uid_t)-1: to set*id(2) it means "leave unchanged", so it is
// never an owner or a user's id.
const noID = 1<<32 - 1

var errNoID = errors.New("4294967295 is not a valid id ((uid_t)-1 means \"unchanged\" to the kernel)")

// Owner is a numeric id or a name from the recipe's users or groups.
type Owner struct {
	ID   uint32
	Name string
}

func (o *Owner) setScalar(s string) error {
	if s == "" {
		return fmt.Errorf("empty owner")
	}
	if v, err := strconv.ParseUint(s, 10, 32); err == nil {
		if v == noID {
			return errNoID
		}
		*o = Owner{ID: uint32(v)}
		return nil
	}
	*o = Owner{Name: s}
	return nil
}

func (b *Binary) setScalar(s string) error {
	*b = Binary{Path: s}
	return nil
}

func (d *Device) setScalar(s string) error {
	*d = Device{Name: s}
	return nil
}

// scalarSetter is implemented by types that accept a YAML scalar shorthand.
type scalarSetter interface {
	setScalar(string) error
}
