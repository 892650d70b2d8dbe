package unpack

import "errors"

// ErrMount is returned when the device or mount point given with WithDevice
// or WithReadOnly cannot be used: not a block device, no ext4 or xfs
// superblock, already mounted elsewhere, not a mount point.
var ErrMount = errors.New("unusable mount")

// WithDevice makes Unpack mount the block device dev (ext4 or xfs, found
// from its superblock) on target, creating target if needed, unpack, and
// remount it read-only and nosuid, adding nodev unless the live image has a
// device node other than the safe ones (SafeDevices) in its /dev, over
// which jailimg run binds the host's nodes. A device already mounted on target is reused; one mounted
// anywhere else is refused (ErrMount). Implies WithReadOnly. Needs root.
// Default: no device.
func WithDevice(dev string) Option {
	return func(o *options) { o.device, o.readOnly = dev, true }
}

// WithReadOnly makes Unpack treat target as a mount point that is kept
// read-only: it is remounted read-write (nosuid, nodev) for the unpack only
// and always left read-only and nosuid, with nodev unless the live image has
// devices beyond the safe ones in /dev, whether the unpack succeeds or fails. When the image is
// already live on a mount that is already so, nothing is remounted. A
// filesystem mounted only on target is remounted as a whole; one also
// mounted elsewhere (a bind mount) only has target's mount flags changed.
// Needs root. Default: target is a plain directory.
func WithReadOnly() Option { return func(o *options) { o.readOnly = true } }
