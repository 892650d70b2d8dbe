package run

import (
	"errors"
	"fmt"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// errLandlockUnsupported marks a kernel without Landlock.
var errLandlockUnsupported = errors.New("landlock: not supported by this kernel or not enabled at boot (lsm=landlock)")

// safeDevices may be written under Landlock when the jail has them.
var safeDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/tty"}

// landlockScopeABI is the first Landlock ABI that scopes abstract UNIX
// sockets and signals.
const landlockScopeABI = 6

// Landlock access rights by ABI version: filesystem rights handled, and
// scopes (abstract UNIX sockets, signals) from ABI 6.
func landlockHandled(abi int) (fs, scoped uint64) {
	switch {
	case abi >= 9:
		fs = ll.AccessFSResolveUnix<<1 - 1
	case abi >= 5:
		fs = ll.AccessFSIoctlDev<<1 - 1
	case abi >= 3:
		fs = ll.AccessFSTruncate<<1 - 1
	case abi >= 2:
		fs = ll.AccessFSRefer<<1 - 1
	default:
		fs = ll.AccessFSMakeSym<<1 - 1
	}
	if abi >= landlockScopeABI {
		scoped = ll.ScopeAbstractUnixSocket | ll.ScopeSignal
	}
	return fs, scoped
}

const (
	landlockRead = ll.AccessFSExecute | ll.AccessFSReadFile | ll.AccessFSReadDir
	landlockFile = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile |
		ll.AccessFSTruncate | ll.AccessFSIoctlDev
)

// applyLandlock confines the calling thread, which will exec the service,
// to the jail whose root is "/" once chrooted: read and execute everywhere,
// everything below the writable directories, read and write on the safe
// devices, connecting to /dev/log with syslog (a right Landlock handles
// from ABI 9), nothing outside the jail (no rule names anything outside it,
// so a descriptor leaked from outside is useless too). From ABI 6,
// abstract UNIX sockets and signals are scoped to the jail: the service
// can neither connect to a host's abstract socket nor signal a process
// outside its Landlock domain. It returns the ABI enforced.
//
// It uses go-landlock's system call layer rather than its all-threads
// Restrict: only this thread survives the exec, and go-landlock's cgo
// all-threads path needs /proc, which a jail does not have.
func applyLandlock(writable []string, syslog bool) (int, error) {
	abi, err := ll.LandlockGetABIVersion()
	if err != nil || abi < 1 {
		return 0, errLandlockUnsupported
	}
	handled, scoped := landlockHandled(abi)
	attr := ll.RulesetAttr{HandledAccessFS: handled, Scoped: scoped}
	rfd, err := ll.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return abi, fmt.Errorf("landlock_create_ruleset: %w", err)
	}
	defer unix.Close(rfd)
	add := func(path string, access uint64, mayMiss bool) error {
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if mayMiss && errors.Is(err, unix.ENOENT) {
				return nil
			}
			return fmt.Errorf("landlock: %s: %w", path, err)
		}
		defer unix.Close(fd)
		if access&handled == 0 {
			return nil // a right this ABI does not handle: allowed anyway
		}
		pb := ll.PathBeneathAttr{AllowedAccess: access & handled, ParentFd: fd}
		if err := ll.LandlockAddPathBeneathRule(rfd, &pb, 0); err != nil {
			return fmt.Errorf("landlock: rule for %s: %w", path, err)
		}
		return nil
	}
	if err := add("/", landlockRead, false); err != nil {
		return abi, err
	}
	for _, d := range safeDevices {
		if err := add(d, landlockFile, true); err != nil {
			return abi, err
		}
	}
	if syslog {
		if err := add("/dev/log", ll.AccessFSResolveUnix, false); err != nil {
			return abi, err
		}
	}
	for _, w := range writable {
		if err := add(w, handled, false); err != nil {
			return abi, fmt.Errorf("writable %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return abi, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if err := ll.LandlockRestrictSelf(rfd, 0); err != nil {
		return abi, fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return abi, nil
}
