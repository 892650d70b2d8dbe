// Package printable keeps names from hostile trees and images from forging
// lines or sending terminal escapes when jailimg prints them.
package printable

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HasControl reports whether s holds a control character (C0, DEL or C1):
// a newline or an escape in a name could forge a line of output.
func HasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// Quote returns s as it is, or Go-quoted when it holds a control character
// or invalid UTF-8, so that it prints as one harmless line.
func Quote(s string) string {
	if utf8.ValidString(s) && !HasControl(s) {
		return s
	}
	return strconv.Quote(s)
}
