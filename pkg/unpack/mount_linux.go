package unpack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/jailimg/jailimg/pkg/bundle"
)

// mountState is the mount point a WithDevice or WithReadOnly unpack works on.
type mountState struct {
	point  string     // target, absolute with symlinks resolved
	entry  mountEntry // the topmost mount on point
	shared bool       // the filesystem is also mounted elsewhere
	devfd  int        // the locked device node, or -1
	o      *options
}

// unpackMounted is Unpack for WithDevice and WithReadOnly.
func unpackMounted(ctx context.Context, img v1.Image, target string, o *options) (res *Result, err error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	m, err := prepareMount(target, o)
	if err != nil {
		return nil, err
	}
	defer m.release()
	tfd, err := lockDir(m.point)
	if err != nil {
		return nil, errors.Join(err, m.sealErr())
	}
	defer unix.Close(tfd)
	defer unix.Flock(tfd, unix.LOCK_UN)
	if err := checkTarget(tfd, m.point); err != nil {
		return nil, errors.Join(err, m.sealErr())
	}

	if m.entry.readOnly() && m.entry.has("nosuid") {
		if live := liveOnMount(img, digest, m, o); live != nil {
			o.logger.Info("image already live on a read-only mount", "target", m.point, "digest", digest)
			opts := "ro,nosuid"
			if m.entry.has("nodev") {
				opts += ",nodev"
			}
			return &Result{Digest: digest, Gen: live.Gen, Mount: opts}, nil
		}
	}
	defer func() {
		opts, serr := m.seal()
		if res != nil {
			res.Mount = opts
		}
		err = errors.Join(err, serr)
	}()
	if m.entry.readOnly() {
		if err := m.remount(false, true); err != nil {
			return nil, err
		}
		o.logger.Info("remounted read-write for the unpack", "target", m.point)
	}
	return unpackLocked(ctx, img, tfd, m.point, o)
}

// MountReadOnly does what Unpack does with the same options before and
// after unpacking, without unpacking: it mounts WithDevice's device on target
// if needed and leaves target read-only and nosuid, with nodev when the live
// tree has no device node. It returns the mount options now in force. The
// CLI calls it when the image cannot be read, so the live tree stays usable.
func MountReadOnly(target string, opts ...Option) (string, error) {
	o := makeOptions(opts)
	m, err := prepareMount(target, o)
	if err != nil {
		return "", err
	}
	defer m.release()
	tfd, err := lockDir(m.point)
	if err != nil {
		return "", errors.Join(err, m.sealErr())
	}
	defer unix.Close(tfd)
	defer unix.Flock(tfd, unix.LOCK_UN)
	return m.seal()
}

// prepareMount mounts o.device on target when asked and not yet done, and
// finds the mount on target.
func prepareMount(target string, o *options) (*mountState, error) {
	if err := makeTarget(target); err != nil {
		return nil, err
	}
	point, err := filepath.EvalSymlinks(target)
	if err == nil {
		point, err = filepath.Abs(point)
	}
	if err != nil {
		return nil, err
	}
	m := &mountState{point: point, devfd: -1, o: o}
	if o.device != "" {
		if err := m.mountDevice(o.device); err != nil {
			m.release()
			return nil, err
		}
	}
	mounts, err := readMountinfo()
	if err != nil {
		m.release()
		return nil, err
	}
	top := topMount(mounts, point)
	if top == nil {
		m.release()
		return nil, fmt.Errorf("%s: %w: not a mount point", point, ErrMount)
	}
	m.entry = *top
	for _, e := range mounts {
		if e.Major == top.Major && e.Minor == top.Minor && e.Point != point {
			m.shared = true
		}
	}
	return m, nil
}

// topMount returns the last (visible) mount on point, or nil.
func topMount(mounts []mountEntry, point string) *mountEntry {
	var top *mountEntry
	for i := range mounts {
		if mounts[i].Point == point {
			top = &mounts[i]
		}
	}
	return top
}

// release unlocks the device node.
func (m *mountState) release() {
	if m.devfd >= 0 {
		unix.Flock(m.devfd, unix.LOCK_UN)
		unix.Close(m.devfd)
		m.devfd = -1
	}
}

// liveOnMount returns the live bundle when img is live on the read-only
// mount m and keeps working as it is: a trusted bundle with the image's
// digest and config, and no device node unless the mount allows them.
// Otherwise it returns nil.
func liveOnMount(img v1.Image, digest v1.Hash, m *mountState, o *options) *bundle.Bundle {
	live, err := bundle.Open(m.point)
	if err != nil {
		return nil
	}
	_, cfg, err := layers(img)
	if err != nil {
		return nil // the unpack that follows reports it
	}
	if ok, err := isLive(live, digest, cfg); err != nil || !ok {
		return nil
	}
	if !m.entry.has("nodev") && !liveHasDevices(live, o) {
		return nil
	}
	return live
}
