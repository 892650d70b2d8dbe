package unpack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/internal/rmtree"
	"github.com/jailimg/jailimg/pkg/bundle"
)

// Result describes a finished unpack.
type Result struct {
	// Digest is the manifest digest of the image now live.
	Digest v1.Hash
	// Changed is false when the image was already live and nothing was done.
	Changed bool
	// Gen is the absolute path of the live generation directory.
	Gen string
	// Bytes and Entries count the uncompressed tar bytes and entries read.
	Bytes, Entries int64
	// Mount is the options of target's mount after an unpack WithDevice or
	// WithReadOnly, e.g. "ro,nosuid,nodev"; empty otherwise.
	Mount string
}

// Unpack makes img the live generation of the bundle directory target (see
// package bundle), creating target if needed. It is safe against hostile
// layers and crashes (see the package doc) and does nothing when img is
// already live. Concurrent calls on one target are serialized with a lock.
//
// With WithDevice or WithReadOnly, target is a mount point that Unpack makes
// writable for the unpack only and leaves read-only (see mount_linux.go).
// With WithProgress, the channel gets updates and is closed on return.
func Unpack(ctx context.Context, img v1.Image, target string, opts ...Option) (res *Result, err error) {
	o := makeOptions(opts)
	defer o.progress.close(&err)
	if o.device != "" || o.readOnly {
		return unpackMounted(ctx, img, target, o)
	}
	if err := makeTarget(target); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	tfd, err := lockDir(abs)
	if err != nil {
		return nil, err
	}
	defer unix.Close(tfd)
	defer unix.Flock(tfd, unix.LOCK_UN)
	if err := checkTarget(tfd, abs); err != nil {
		return nil, err
	}
	return unpackLocked(ctx, img, tfd, abs, o)
}

// lockDir opens the directory abs and takes an exclusive flock on it.
func lockDir(abs string) (int, error) {
	tfd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening %s: %w", abs, err)
	}
	if err := unix.Flock(tfd, unix.LOCK_EX); err != nil {
		unix.Close(tfd)
		return -1, fmt.Errorf("locking %s: %w", abs, err)
	}
	return tfd, nil
}

// unpackLocked is Unpack on the bundle directory abs, open as tfd and locked.
func unpackLocked(ctx context.Context, img v1.Image, tfd int, abs string, o *options) (*Result, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	refs, cfg, err := layers(img)
	if err != nil {
		return nil, err
	}
	live, prev := cleanup(tfd, abs, o)
	res := &Result{Digest: digest}
	// bundle.Open checked that the live gen and its rootfs are real,
	// trusted directories; the config must match too, not only the digest.
	if ok, err := isLive(live, digest, cfg); err != nil {
		return nil, err
	} else if ok {
		res.Gen = live.Gen
		o.logger.Info("image already live", "target", abs, "digest", digest)
		return res, nil
	} else if live != nil && live.Meta.ManifestDigest == digest.String() {
		o.logger.Warn("live generation's image.json differs from the image config, replacing it", "target", abs, "gen", live.Gen)
	}
	b := &budget{lim: o.limits, progress: o.progress, total: compressedSize(refs)}
	space, err := newSpaceCheck(tfd, abs, b.total)
	if err != nil {
		return nil, err
	}
	b.space = space.check
	staging, err := os.MkdirTemp(abs, bundle.StagingPrefix)
	if err != nil {
		return nil, space.explain(err, b)
	}
	ok := false
	defer func() {
		if !ok {
			removeTree(tfd, abs, filepath.Base(staging), "staging directory", "", o)
		}
	}()
	b.progress.start(refs)
	if err := extract(ctx, staging, refs, b, o); err != nil {
		return nil, space.explain(err, b)
	}
	meta := bundle.Meta{ManifestDigest: digest.String(), Source: o.source, Name: imageName(img), Config: *cfg}
	raw, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(staging, bundle.MetaFile), raw, 0o644); err != nil {
		return nil, space.explain(err, b)
	}
	gen, err := commit(tfd, abs, staging)
	if err != nil {
		return nil, err
	}
	ok = true
	res.Changed, res.Gen, res.Bytes, res.Entries = true, filepath.Join(abs, gen), b.bytes, b.entries
	o.logger.Info("unpacked", "target", abs, "digest", digest, "gen", gen, "bytes", b.bytes, "entries", b.entries)
	// The generation current pointed to, even one bundle.Open refused: its
	// removal never follows a symlink.
	if prev != "" && prev != gen {
		removeGen(tfd, abs, prev, "old generation", "the new generation "+gen+" is live", o)
	}
	return res, nil
}

// compressedSize is the size of the layers' blobs.
func compressedSize(refs []layerRef) int64 {
	var n int64
	for _, r := range refs {
		n += r.desc.Size
	}
	return n
}

// extract applies all layers into staging/rootfs.
func extract(ctx context.Context, staging string, refs []layerRef, b *budget, o *options) error {
	if err := os.Mkdir(filepath.Join(staging, bundle.RootFS), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(staging, bundle.RootFS), 0o755); err != nil {
		return err
	}
	root, err := unix.Open(filepath.Join(staging, bundle.RootFS), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	d := newDisk(root)
	defer d.close()
	ww := &worldWritable{applier: d, strict: o.strict}
	for _, ref := range refs {
		o.logger.Debug("applying layer", "index", ref.index, "digest", ref.desc.Digest, "size", ref.desc.Size)
		if err := applyLayer(ctx, ref, b, o.devices, ww); err != nil {
			return err
		}
	}
	if ww.masked > 0 {
		o.logger.Warn("world-writable entries in the image: o+w masked off, as the jail's build requires (--strict refuses such an image)",
			"entries", ww.masked, "first", ww.first)
	}
	return d.finish()
}

// commit makes staging durable, renames it to a generation and switches
// TARGET/current to it. It returns the generation's name.
func commit(tfd int, abs, staging string) (string, error) {
	sfd, err := unix.Open(staging, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	if err := unix.Fchmod(sfd, 0o755); err != nil {
		unix.Close(sfd)
		return "", err
	}
	err = unix.Syncfs(sfd)
	unix.Close(sfd)
	if err != nil {
		return "", fmt.Errorf("syncfs %s: %w", staging, err)
	}
	suffix := filepath.Base(staging)[len(bundle.StagingPrefix):]
	gen := bundle.GenPrefix + suffix
	if err := unix.Renameat(tfd, filepath.Base(staging), tfd, gen); err != nil {
		return "", fmt.Errorf("renaming %s: %w", staging, err)
	}
	link := bundle.StagingPrefix + "link-" + suffix
	if err := unix.Symlinkat(gen, tfd, link); err != nil {
		return "", fmt.Errorf("creating %s link: %w", bundle.Current, err)
	}
	if err := unix.Fsync(tfd); err != nil {
		return "", fmt.Errorf("fsync %s: %w", abs, err)
	}
	if err := unix.Renameat(tfd, link, tfd, bundle.Current); err != nil {
		return "", fmt.Errorf("switching %s: %w", bundle.Current, err)
	}
	if err := unix.Fsync(tfd); err != nil {
		return "", fmt.Errorf("fsync %s: %w", abs, err)
	}
	return gen, nil
}

// cleanup removes staging leftovers and generations that are not live, and
// returns the live bundle if there is one and bundle.Open trusts it, and the
// name of the generation current points to ("" for none).
func cleanup(tfd int, abs string, o *options) (*bundle.Bundle, string) {
	live, err := bundle.Open(abs)
	if err != nil && !errors.Is(err, bundle.ErrNotBundle) {
		o.logger.Warn("live generation unreadable or untrusted, replacing it", "target", abs, "err", err)
	}
	if err != nil {
		live = nil
	}
	prev := ""
	if t, err := os.Readlink(filepath.Join(abs, bundle.Current)); err == nil && len(t) > len(bundle.GenPrefix) &&
		t[:len(bundle.GenPrefix)] == bundle.GenPrefix && filepath.Base(t) == t {
		prev = t
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return live, prev
	}
	for _, e := range entries {
		n := e.Name()
		stale := len(n) > len(bundle.StagingPrefix) && n[:len(bundle.StagingPrefix)] == bundle.StagingPrefix
		if len(n) > len(bundle.GenPrefix) && n[:len(bundle.GenPrefix)] == bundle.GenPrefix {
			stale = live == nil || filepath.Join(abs, n) != live.Gen
			if live == nil {
				// current may point to a generation whose image.json is damaged; keep it until replaced.
				stale = n != prev
			}
		}
		if stale {
			removeLeftover(tfd, abs, n, o)
		}
	}
	return live, prev
}

// removeTree removes abs/name (open as tfd/name), a generation or staging
// directory that what says, without following a symlink or crossing a
// mount point (see internal/rmtree). It only logs a failure, adding note:
// the unpack itself has succeeded or failed already, and the next unpack
// retries. A tree with mount points in it is left whole, with a warning
// naming them.
func removeTree(tfd int, abs, name, what, note string, o *options) {
	if note != "" {
		note = "; " + note
	}
	err := rmtree.RemoveAt(tfd, name)
	var me *rmtree.MountError
	switch {
	case err == nil:
	case errors.As(err, &me):
		mounts := make([]string, len(me.Mounts))
		for i, m := range me.Mounts {
			mounts[i] = filepath.Join(abs, m)
		}
		o.logger.Warn(what+" left in place: it has mount points in it; once they are unmounted, the next unpack removes it"+note,
			"dir", filepath.Join(abs, name), "mounts", strings.Join(mounts, " "))
	default:
		o.logger.Warn("removing "+what+note, "dir", filepath.Join(abs, name), "err", err)
	}
}

// imageName is the image's org.opencontainers.image.title annotation, ""
// when it has none (layers already read the manifest: this cannot fail
// for a want of it).
func imageName(img v1.Image) string {
	mf, err := img.Manifest()
	if err != nil {
		return ""
	}
	return mf.Annotations[titleAnnotation]
}

// titleAnnotation is the manifest annotation naming the image (ocispec.AnnotationTitle).
const titleAnnotation = "org.opencontainers.image.title"
