package dpkg

import "github.com/jailimg/jailimg/internal/lazyre"

var (
	nameRE    = lazyre.New(`^[a-z0-9][a-z0-9+.-]{1,127}$`)
	versionRE = lazyre.New(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]{0,127}$`)
)

// ValidName reports whether s is a Debian package name as Debian policy
// §5.6.1 spells it: lowercase letters, digits, '+', '-' and '.', at least two
// characters, starting with a letter or digit (at most 128 here).
func ValidName(s string) bool { return nameRE().MatchString(s) }

// ValidVersion reports whether s is a Debian version ([EPOCH:]UPSTREAM[-REVISION],
// starting with a digit; at most 128 characters after the epoch here).
func ValidVersion(s string) bool { return versionRE().MatchString(s) }
