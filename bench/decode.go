package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// decodeFlag makes the bench program decode a layer blob to nothing and
// exit: `bench -decode gzip|zstd FILE`. It is the "klauspost decode" row of
// the unpack tables, the floor for an unpacker in pure Go: the decoders
// jailimg uses, with the same settings, in a process of its own as jailimg
// runs in one.
const decodeFlag = "-decode"

func decodeMain(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: bench %s gzip|zstd FILE", decodeFlag)
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader
	switch args[0] {
	case "gzip":
		g, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
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
		return fmt.Errorf("%s: unknown compression %q", decodeFlag, args[0])
	}
	_, err = io.Copy(io.Discard, r)
	return err
}
