// Command jailimg builds minimal chroot jails as reproducible OCI images,
// ships them through registries, unpacks them safely and runs them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jailimg:", err)
	}
	os.Exit(exitCode(err))
}
