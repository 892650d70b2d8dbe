// Package lazyre compiles a regular expression on its first use instead of
// at program start: a counted repetition such as {0,127} makes package
// regexp build a state per count, which every jailimg command, whatever it
// does, would otherwise pay for at start-up.
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr on its first call, panicking
// as regexp.MustCompile does if expr is not valid, and returns the same
// *regexp.Regexp on every call. It is safe for concurrent use.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
