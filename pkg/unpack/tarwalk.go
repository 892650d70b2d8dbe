package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// applier is where a checked entry goes: the disk (unpack) or an in-memory
// model of the tree (verify). Names are clean (see cleanName), "" is the
// root; a symlink in a parent directory is followed inside the root, the
// last component never. The walker has already applied the policy; an
// applier only has to keep every operation inside its root.
type applier interface {
	// startLayer is called before the first entry of each layer, the
	// layer-th of the image: whiteouts hide what lower layers made, not
	// what their own layer wrote.
	startLayer(layer int)
	// flush is called after the last entry of each layer, and after an
	// entry failed: it returns once every write of the layer is done, with
	// the *EntryError of the first that failed, if one did.
	flush() error
	dir(name string, h *tar.Header) error
	file(name string, h *tar.Header, r io.Reader) error
	symlink(name string, h *tar.Header) error
	hardlink(name, target string, h *tar.Header) error
	device(name string, h *tar.Header) error
	// whiteout hides name and everything below it, if it exists.
	whiteout(name string) error
	// opaque hides the children of dir.
	opaque(dir string) error
}

// Kinds of entries recorded per layer to spot duplicates of different types.
const (
	kindTouched = iota // an ancestor of an entry of this layer
	kindDir
	kindFile
	kindSymlink
	kindDevice
)

// applyTar reads one tar stream and hands every checked entry to a.
func applyTar(ctx context.Context, layer int, r io.Reader, b *budget, devs map[Device]bool, a applier) error {
	a.startLayer(layer)
	err := walkTar(ctx, layer, r, b, devs, a)
	if ferr := a.flush(); ferr != nil {
		// A write that failed came from an entry before the one that
		// failed here, if one did.
		return ferr
	}
	return err
}

func walkTar(ctx context.Context, layer int, r io.Reader, b *budget, devs map[Device]bool, a applier) error {
	tr := tar.NewReader(r)
	seen := map[string]int{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer %d: reading tar: %w", layer, streamErr(err))
		}
		b.entries++
		if b.entries > b.lim.MaxEntries {
			return &EntryError{layer, h.Name, fmt.Errorf("%w: more than %d entries", ErrLimit, b.lim.MaxEntries)}
		}
		if b.entries%1024 == 0 || b.space != nil && b.written >= b.spaceAt {
			if err := b.tick(ctx.Err); err != nil {
				return err
			}
		}
		// The layer's own faults come wrapped in a sentinel (the walker's
		// checks, the model, and entryReader for the stream); anything
		// else is the host's (a full disk, EACCES) and keeps its errno.
		if err := applyEntry(h, &entryReader{tr, b}, seen, devs, a); err != nil {
			var ee *EntryError
			if errors.As(err, &ee) {
				return err // a write of an earlier entry failed
			}
			return &EntryError{layer, h.Name, err}
		}
	}
}

func applyEntry(h *tar.Header, r io.Reader, seen map[string]int, devs map[Device]bool, a applier) error {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := cleanName(h.Name)
	if err != nil {
		return err
	}
	if err := checkPolicy(h, devs); err != nil {
		return err
	}
	dir, base := split(name)
	if strings.HasPrefix(base, whPrefix) {
		return applyWhiteout(dir, base, a)
	}
	if err := see(seen, name, dir, kindOf(h.Typeflag)); err != nil {
		return err
	}
	if name == "" && h.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w: the root must be a directory", ErrUnsafePath)
	}
	return applyTyped(name, h, r, a)
}

// see records that the layer wrote name, of kind, and touched its parent
// directories; an entry of another kind at a name the layer wrote before
// is a corrupt layer.
func see(seen map[string]int, name, dir string, kind int) error {
	if old, ok := seen[name]; ok && old != kindTouched && old != kind {
		return fmt.Errorf("%w: duplicate entry of a different type", ErrCorrupt)
	}
	seen[name] = kind
	for d := dir; d != ""; d, _ = split(d) {
		if _, ok := seen[d]; ok {
			break
		}
		seen[d] = kindTouched
	}
	return nil
}

// applyTyped hands the checked entry name to the applier method for its type.
func applyTyped(name string, h *tar.Header, r io.Reader, a applier) error {
	switch h.Typeflag {
	case tar.TypeDir:
		return a.dir(name, h)
	case tar.TypeReg:
		return a.file(name, h, r)
	case tar.TypeSymlink:
		if h.Linkname == "" || len(h.Linkname) > maxPathLen || strings.IndexByte(h.Linkname, 0) >= 0 {
			return fmt.Errorf("%w: bad symlink target %q", ErrCorrupt, h.Linkname)
		}
		return a.symlink(name, h)
	case tar.TypeLink:
		target, err := cleanName(h.Linkname)
		if err != nil {
			return fmt.Errorf("hardlink target %q: %w", h.Linkname, err)
		}
		if target == name || target == "" {
			return fmt.Errorf("%w: hardlink to itself or the root", ErrUnsafePath)
		}
		return a.hardlink(name, target, h)
	case tar.TypeChar, tar.TypeBlock:
		return a.device(name, h)
	}
	return fmt.Errorf("%w: unsupported entry %s", ErrCorrupt, tarTypeName(h.Typeflag))
}

func kindOf(t byte) int {
	switch t {
	case tar.TypeDir:
		return kindDir
	case tar.TypeSymlink:
		return kindSymlink
	case tar.TypeChar, tar.TypeBlock:
		return kindDevice
	}
	return kindFile
}

func applyWhiteout(dir, base string, a applier) error {
	if base == whOpaque {
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, whMeta) {
		return fmt.Errorf("%w: unsupported special whiteout %q", ErrCorrupt, base)
	}
	victim := base[len(whPrefix):]
	if victim == "" || victim == "." || victim == ".." {
		return fmt.Errorf("%w: whiteout of %q", ErrUnsafePath, victim)
	}
	return a.whiteout(join(dir, victim))
}

// checkPolicy refuses setuid/setgid bits, file capabilities, FIFOs and
// devices outside the allowed table.
func checkPolicy(h *tar.Header, devs map[Device]bool) error {
	if h.Mode&0o6000 != 0 {
		return fmt.Errorf("%w: setuid/setgid mode %#o", ErrPolicy, h.Mode&0o7777)
	}
	if h.Mode < 0 || h.Uid < 0 || h.Gid < 0 || h.Uid > 1<<31 || h.Gid > 1<<31 {
		return fmt.Errorf("%w: bad mode, uid or gid", ErrCorrupt)
	}
	for k := range h.PAXRecords {
		if strings.Contains(strings.ToLower(k), "security.capability") {
			return fmt.Errorf("%w: file capabilities (%s)", ErrPolicy, k)
		}
		if strings.HasPrefix(k, "GNU.sparse.") {
			return fmt.Errorf("%w: sparse files are not supported", ErrCorrupt)
		}
	}
	switch h.Typeflag {
	case tar.TypeFifo:
		return fmt.Errorf("%w: FIFOs are not allowed", ErrPolicy)
	case tar.TypeChar, tar.TypeBlock:
		if h.Devmajor < 0 || h.Devminor < 0 || h.Devmajor > 1<<31 || h.Devminor > 1<<31 {
			return fmt.Errorf("%w: bad device numbers", ErrCorrupt)
		}
		d := Device{Block: h.Typeflag == tar.TypeBlock, Major: uint32(h.Devmajor), Minor: uint32(h.Devminor)}
		if !devs[d] {
			return fmt.Errorf("%w: %s %s is not allowed (see --allow-device)", ErrPolicy, tarTypeName(h.Typeflag), d)
		}
	}
	return nil
}

// entryReader counts the bytes of file contents against MaxBytes too: a
// sparse entry or a reader bug must not turn a small stream into a big tree.
type entryReader struct {
	r io.Reader
	b *budget
}

// Its read errors are the stream's, classified by streamErr, so that the
// applier returns them as they are.
func (e *entryReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.b.written += int64(n)
	if e.b.written > e.b.lim.MaxBytes {
		return n, fmt.Errorf("%w: more than %d bytes of file contents", ErrLimit, e.b.lim.MaxBytes)
	}
	if err != nil && err != io.EOF {
		err = streamErr(err)
	}
	return n, err
}
