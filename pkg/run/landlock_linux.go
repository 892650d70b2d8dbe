package run

import (
	"errors"
	"fmt"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// errLandlockUnsupported marks a kernel without Landlock.
var errLandlockUnsupported = errors.New("landlock: not supported by this kernel or not enabled at boot (lsm=landlock)")

// safeDevices may be written under Landlock when the jail has them.
var safeDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/tty"}

// applyLandlock confines every thread to the jail, whose root is "/" once
// chrooted: read and execute everywhere, full access below writable, write
// to the safe devices, nothing outside the jail (no rule names anything
// outside it). Abstract UNIX sockets and signals are scoped to the jail where
// the kernel supports it (ABI 6). It returns the ABI version enforced.
func applyLandlock(writable []string) (int, error) {
	abi, err := ll.LandlockGetABIVersion()
	if err != nil || abi < 1 {
		return 0, errLandlockUnsupported
	}
	cfg := landlock.V11
	cfg.HandledAccessNet = 0 // --network none is the network control
	rules := []landlock.Rule{
		landlock.RODirs("/"),
		landlock.RWFiles(safeDevices...).IgnoreIfMissing(),
	}
	if len(writable) > 0 {
		rules = append(rules, landlock.RWDirs(writable...).WithRefer())
	}
	if err := cfg.BestEffort().Restrict(rules...); err != nil {
		return abi, fmt.Errorf("landlock: %w", err)
	}
	return abi, nil
}
