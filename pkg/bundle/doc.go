// Package bundle describes an unpacked jail on disk: the contract between
// the code that writes a jail (package unpack) and the code that reads it
// (packages run, check and verify).
//
// A bundle is a directory TARGET laid out as
//
//	TARGET/current          symlink to the live generation, e.g. "gen-3f2a…"
//	TARGET/gen-*/rootfs/    the jail tree: the directory a service is chrooted into
//	TARGET/gen-*/image.json the Meta of the image the generation was unpacked from
//	TARGET/.staging-*       work in progress; removed by the next unpack
//
// A new generation is written in full beside the live one, made durable, and
// switched to by renaming a new symlink over TARGET/current, so readers see
// either the old tree or the new one, never a mix. Readers must resolve
// TARGET/current once and then use the generation directory they found.
//
// # Trust
//
// Open refuses, with an error wrapping ErrUnsafe, a bundle it cannot trust,
// the way sshd's StrictModes refuses a home directory:
//
//   - TARGET (the directory itself, after following a symlink to it), the
//     current link, the generation directory and image.json must be owned by
//     root or by the effective uid, and none of them (but the link, whose
//     mode means nothing) may be writable by group or others, sticky bit or
//     not. Only their owner can then swap current, a generation or its
//     rootfs, or rewrite image.json.
//   - The generation directory and its rootfs must be real directories, and
//     image.json a regular file, none of them a symlink: each is opened
//     beneath the one before with O_NOFOLLOW, image.json with O_NONBLOCK so
//     that a FIFO cannot block, and read up to MaxMetaSize bytes.
//   - The rootfs keeps the mode and owner its image gives it: they are part
//     of the image.
//
// Bundle.Root checks, right before the rootfs path is used (for chroot),
// that it still names the directory Open checked; Bundle.RootID is that
// directory's identity, for a caller that opens the path itself and compares
// what it opened; Bundle.OpenRoot opens that directory, checked the same
// way, for callers that walk the tree from its descriptor. The rules do
// not cover the directories above TARGET: whoever can rename TARGET can
// replace the whole bundle, so TARGET must live in a directory only root
// (or the owner) can write, as /srv, /var/lib and the like are.
//
// Package unpack writes bundles that follow the rules: it makes a TARGET it
// creates mode 0755, generations 0755 and image.json 0644 (less the umask),
// and refuses a TARGET that others may write.
//
// The package guarantees nothing about the contents of the rootfs: callers
// that must not trust it (run, check) open it with their own safeguards.
package bundle
