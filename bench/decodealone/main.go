// Command decodealone decodes a layer blob to nothing and exits: the
// "klauspost decode (floor)" row of the bench's unpack tables, the floor
// for an unpacker in pure Go. It uses the decoders jailimg uses, with the
// same settings, and reads the blob in 64 KiB reads as jailimg does (its
// chunk size), in a program that links nothing else: its start is that of
// the smallest Go program that can decode the blob, so that the floor is
// not raised by the bench's own start or buffers. The gzip reader writes
// its output straight from its window to io.Discard (WriterTo); the zstd
// decoder decodes into its own buffers, as in jailimg.
//
// Usage: decodealone gzip|zstd FILE
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "decodealone:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: decodealone gzip|zstd FILE")
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
