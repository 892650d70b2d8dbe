package run

import (
	"errors"
	"fmt"
)

// Exit codes of `jailimg run`, as env(1) and chroot(1) use them. Any other
// status is the service's own: its exit code, or 128+N when signal N killed it.
const (
	// ExitLaunch means jailimg itself failed: bad flags, an unreadable
	// bundle, a user that does not exist, a refused uid 0, a kernel refusal.
	ExitLaunch = 125
	// ExitCannotExec means the command was found but could not be executed.
	ExitCannotExec = 126
	// ExitNotFound means the command was not found in the jail.
	ExitNotFound = 127
)

// ErrRoot is returned when the service would run as uid 0 without AllowRoot.
var ErrRoot = errors.New("refusing to run the service as root (uid 0): root can break out of a chroot " +
	"(chroot(2) again and chdir(\"..\")), load modules and mount; pass --user or --allow-root")

// ExitError reports that the service ran and ended with a non-zero status.
type ExitError struct {
	// Code is the exit code, or 128+Signal when a signal ended the service.
	Code int
	// Signal is the signal that ended the service, 0 if it exited.
	Signal int
}

// Error implements error.
func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return fmt.Sprintf("service killed by signal %d", e.Signal)
	}
	return fmt.Sprintf("service exited with status %d", e.Code)
}

// LaunchError reports that the service could not be started; Code is one of
// ExitLaunch, ExitCannotExec and ExitNotFound.
type LaunchError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *LaunchError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *LaunchError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by Run to the exit status `jailimg run`
// should end with: 0 for nil, the service's status for *ExitError, the
// launcher code for *LaunchError and ExitLaunch for anything else.
func ExitCode(err error) int {
	var ee *ExitError
	var le *LaunchError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &le):
		return le.Code
	default:
		return ExitLaunch
	}
}
