// Command unpackalone runs jailimg's unpack and nothing else: the library
// calls `jailimg unpack LAYOUT BUNDLE` makes (layout.Image, unpack.Unpack),
// in a program that links only what they need. It runs the two "unpack
// library alone" rows of the bench's small-image tables (a new bundle, and
// one that already holds the image): against `jailimg unpack` they separate
// the pipeline's own time from the start of the jailimg binary, whose other
// commands' packages are initialised at every start.
//
// Usage: unpackalone LAYOUT BUNDLE
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/unpack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "unpackalone:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: unpackalone LAYOUT BUNDLE")
	}
	img, err := layout.Image(args[0], "")
	if err != nil {
		return err
	}
	_, err = unpack.Unpack(context.Background(), img, args[1])
	return err
}
