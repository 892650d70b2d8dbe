package deb

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// decompressor returns the function that decompresses a member named name
// (NAME.tar, .tar.gz, .tar.xz, .tar.zst).
func decompressor(name string) (func(io.Reader) (io.ReadCloser, error), error) {
	switch path.Ext(name) {
	case ".tar":
		return func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil }, nil
	case ".gz":
		return func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }, nil
	case ".xz":
		return func(r io.Reader) (io.ReadCloser, error) {
			// DictCap is the least dictionary allocated: the stream's
			// own size is used when larger (xz -6, dpkg-deb's: 8 MiB).
			xr, err := xz.ReaderConfig{DictCap: xz.ReaderConfig{}.DictCap | 4096}.NewReader(r)
			return io.NopCloser(xr), err
		}, nil
	case ".zst":
		return func(r io.Reader) (io.ReadCloser, error) {
			zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
			if err != nil {
				return nil, err
			}
			return zr.IOReadCloser(), nil
		}, nil
	}
	return nil, fmt.Errorf("unsupported compression %q (want none, .gz, .xz or .zst)", path.Ext(name))
}

// tarOf opens a member as a tar stream of at most limit bytes once
// decompressed: a few KiB of xz or zstd can expand to gigabytes, which
// the tar reader would decompress to skip them.
func (a *Archive) tarOf(m member, limit int64) (*tar.Reader, io.Closer, error) {
	open, err := decompressor(m.name)
	if err != nil {
		return nil, nil, &Error{Member: m.name, Err: err}
	}
	// Buffered: the xz reader reads its input a byte at a time.
	rc, err := open(bufio.NewReaderSize(a.section(m), 64<<10))
	if err != nil {
		return nil, nil, &Error{Member: m.name, Err: err}
	}
	return tar.NewReader(&capped{r: rc, left: limit}), rc, nil
}

// capped reads r and fails once more than left bytes came out of it.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("decompresses to more than the limit")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// Control returns the control file of the package (./control in
// control.tar), at most MaxControl bytes.
func (a *Archive) Control() ([]byte, error) {
	tr, c, err := a.tarOf(a.control, 16*MaxControl)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for n := 0; n < 64; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Error{Member: a.control.name, Err: err}
		}
		if h.Typeflag != tar.TypeReg || path.Clean("/"+h.Name) != "/control" {
			continue
		}
		if h.Size > MaxControl {
			return nil, invalid(a.control.name, "control file of %d bytes, more than %d", h.Size, MaxControl)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil || int64(len(b)) != h.Size {
			return nil, invalid(a.control.name, "control file cut short: %v", err)
		}
		return b, nil
	}
	return nil, invalid(a.control.name, "no control file")
}

// maxDataSize is MaxDataSize, and maxStream the most bytes data.tar may
// decompress to: contents, and headers of 512 bytes and more per entry.
// The fuzz test lowers both.
var (
	maxDataSize int64 = MaxDataSize
	maxStream   int64 = MaxDataSize + 1<<30
)

// Entry is one data.tar entry, as Walk passes it on.
type Entry struct {
	// Path is the entry's absolute, clean path in the package ("/usr/sbin/nginx").
	Path string
	// Type is tar.TypeDir, TypeReg, TypeSymlink or TypeLink; Walk
	// refuses the other types.
	Type byte
	// Mode holds the permission bits (0o777) only.
	Mode int64
	// Size is a regular file's length.
	Size int64
	// Link is a symlink's target as written, or a hard link's target as
	// an absolute, clean path in the package.
	Link string
}

// Walk calls fn for every entry of data.tar in archive order, with a
// reader of a regular file's contents (nil otherwise). Names are made
// absolute and clean; a name that leaves the package's root ("../x"), a
// hard link to such a name, a device node, a FIFO, more than MaxEntries
// entries or more than MaxDataSize bytes of contents are errors, as is
// anything fn returns.
func (a *Archive) Walk(ctx context.Context, fn func(e Entry, r io.Reader) error) error {
	tr, c, err := a.tarOf(a.data, maxStream)
	if err != nil {
		return err
	}
	defer c.Close()
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{Member: a.data.name, Err: err}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if n == MaxEntries {
			return invalid(a.data.name, "more than %d entries", MaxEntries)
		}
		e, err := entry(h)
		if err != nil {
			return &Error{Member: a.data.name, Err: err}
		}
		var r io.Reader
		if e.Type == tar.TypeReg {
			if total += e.Size; total > maxDataSize {
				return invalid(a.data.name, "more than %d bytes of contents", maxDataSize)
			}
			r = tr
		}
		if e.Path == "/" {
			continue
		}
		if err := fn(e, r); err != nil {
			return err
		}
	}
}

// entry checks a data.tar header and describes it.
func entry(h *tar.Header) (Entry, error) {
	p, err := cleanName(h.Name)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Type: h.Typeflag, Mode: h.Mode & 0o777}
	switch h.Typeflag {
	case tar.TypeDir:
	case tar.TypeReg: // archive/tar reports the old "\x00" type as TypeReg
		e.Type, e.Size = tar.TypeReg, h.Size
		if h.Size < 0 {
			return e, fmt.Errorf("%s: negative size", p)
		}
	case tar.TypeSymlink:
		if h.Linkname == "" || strings.ContainsRune(h.Linkname, 0) {
			return e, fmt.Errorf("%s: bad symlink target %q", p, h.Linkname)
		}
		e.Link = h.Linkname
	case tar.TypeLink:
		if e.Link, err = cleanName(h.Linkname); err != nil {
			return e, fmt.Errorf("%s: hard link: %w", p, err)
		}
	default:
		return e, fmt.Errorf("%s: entry of type %q (device, FIFO or other): packages for jails hold files, directories and links only", p, h.Typeflag)
	}
	return e, nil
}

// cleanName turns a data.tar name ("./usr/bin/x") into an absolute clean
// path, refusing one that leaves the root or holds a NUL.
func cleanName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("bad name %q", name)
	}
	rel := strings.TrimPrefix(name, "./")
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return "", fmt.Errorf("name %q leaves the package's root", name)
		}
	}
	return path.Clean("/" + rel), nil
}
