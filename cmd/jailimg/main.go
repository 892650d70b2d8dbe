// Command jailimg builds minimal chroot jails as reproducible OCI images,
// ships them through registries, unpacks them safely and runs them.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/jailimg/jailimg/pkg/run"
)

func main() {
	run.Main() // the jail's setup process: never returns when it is one
	ctx, stop := signalContext()
	err := newRoot(os.Args[1:]...).ExecuteContext(ctx)
	stop()
	err = interruptedBy(ctx, err)
	var exit *run.ExitError
	if err != nil && !errors.As(err, &exit) { // a service's own status is not jailimg's error
		fmt.Fprintln(os.Stderr, "jailimg:", err)
	}
	os.Exit(exitCode(err))
}
