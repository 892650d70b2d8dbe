// Command hidehost runs a command with directories of the host hidden: the
// test starts it in new mount and network namespaces, and it mounts an
// empty read-only tmpfs over each directory before it executes the
// command, so that no dynamically linked program (apt-get, dpkg, a shell)
// can run there and no network is reachable. It is a static binary, as
// the command must be.
//
// Usage: hidehost DIR[,DIR...] CMD [ARG...]
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: hidehost DIR[,DIR...] CMD [ARG...]")
		os.Exit(2)
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fail("making / private", err)
	}
	for _, dir := range strings.Split(os.Args[1], ",") {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, "size=64k,mode=0755"); err != nil {
			fail("hiding "+dir, err)
		}
	}
	err := syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
	fail("executing "+os.Args[2], err)
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "hidehost: %s: %v\n", what, err)
	os.Exit(126)
}
