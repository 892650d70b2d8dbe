// Command decodealone decodes a layer blob to nothing and exits: the
// "klauspost decode (floor)" row of the bench's unpack tables, the floor
// for an unpacker in pure Go. It uses the decoders jailimg uses, with the
// same settings, and reads the blob in 64 KiB reads as jailimg does (its
// chunk size), in a program that links nothing else: its start is that of
// the smallest Go program that can decode the blob, so that the floor is
// not raised by the bench's own start or buffers. The gzip reader writes
// its output straight from its window to io.Discard (WriterTo); the zstd
// decoder decodes into its own buffers, as in jailimg. "gzip-members"
// decodes the members jailimg build writes on every core (up to four), as
// jailimg unpack does (internal/gzmember), into buffers from the heap.
//
// Usage: decodealone gzip|gzip-members|zstd FILE
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/jailimg/jailimg/internal/gzmember"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "decodealone:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: decodealone gzip|gzip-members|zstd FILE")
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader
	switch args[0] {
	case "gzip":
		g, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			return err
		}
		r = g
	case "gzip-members":
		g := gzmember.NewReader(bufio.NewReaderSize(f, 64<<10), gzmember.WithWorkers(min(runtime.GOMAXPROCS(0), 4)))
		defer g.Close()
		r = g
	case "zstd":
		z, err := zstd.NewReader(f, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return err
		}
		defer z.Close()
		r = z
	default:
		return fmt.Errorf("unknown compression %q", args[0])
	}
	_, err = io.Copy(io.Discard, r)
	return err
}
