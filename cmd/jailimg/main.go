// Command jailimg builds minimal chroot jails as reproducible OCI images,
// ships them through registries, unpacks them safely and runs them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/jailimg/jailimg/pkg/run"
)

func main() {
	run.Main() // the jail's setup process: never returns when it is one
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	var exit *run.ExitError
	if err != nil && !errors.As(err, &exit) { // a service's own status is not jailimg's error
		fmt.Fprintln(os.Stderr, "jailimg:", err)
	}
	os.Exit(exitCode(err))
}
