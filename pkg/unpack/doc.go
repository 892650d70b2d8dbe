// Package unpack extracts a v1.Image into a jailimg bundle directory (see
// package bundle) and verifies a bundle against an image.
//
// Every layer is treated as hostile. Unpack guarantees that:
//
//   - nothing outside TARGET is created, modified or removed: every create,
//     open, link and remove happens relative to a directory fd of the staging
//     root, resolved by the kernel with openat2(RESOLVE_BENEATH |
//     RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), and the last component is
//     always operated on with a no-follow *at call;
//   - tar names are unsafe paths: absolute names, names with a ".." component,
//     names going through a symlink, hardlinks to anything but an earlier
//     regular file, and whiteouts through a symlink are rejected with an
//     error naming the layer and entry (*EntryError wrapping ErrUnsafePath);
//   - setuid and setgid bits, security.capability xattrs, FIFOs, block
//     devices and character devices outside the safe table (null, zero,
//     full, random, urandom, tty) are refused (ErrPolicy) unless allowed by
//     WithAllowDevices;
//   - total uncompressed bytes, entry count and compression ratio are bounded
//     (ErrLimit), checked while streaming so a bomb stops early;
//   - each layer's compressed digest and size, and its diff_id from the
//     config, are checked against the bytes read (ErrDigest); trailing data
//     after the end of a tar archive is refused (ErrCorrupt);
//   - the new tree is written in TARGET/.staging-*, made durable with one
//     syncfs, renamed to TARGET/gen-*, and made live by renaming a new
//     symlink over TARGET/current, so a crash at any point leaves either the
//     old tree or the new one live; leftovers are removed by the next run;
//   - unpacking the image that is already live changes nothing
//     (Result.Changed is false).
//
// Extended attributes other than security.capability are ignored, not
// applied. An opaque whiteout removes the lower-layer children of its
// directory that the same layer did not also write (the OCI order puts the
// marker first, in which case this is exactly "all of them").
//
// Ownership is applied only when running as root; device nodes need root.
package unpack
