// Package unpack extracts a v1.Image into a jailimg bundle directory (see
// package bundle) and verifies a bundle against an image.
//
// Every layer is treated as hostile. Unpack guarantees that:
//
//   - nothing outside TARGET is created, modified or removed: every create,
//     open, link and remove happens relative to a directory fd of the staging
//     root. A symlink in a parent directory is followed as chroot would, so
//     that a layer writing lib/x over a base where lib -> usr/lib (usrmerge)
//     puts x in usr/lib as docker, containerd and umoci do; the kernel
//     resolves it with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
//     RESOLVE_NO_XDEV), so an absolute or ".." target stays inside the root.
//     Missing directories are created one component at a time with
//     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS. The last component is always
//     operated on with a no-follow *at call: an entry whose name is a
//     symlink replaces the symlink and never writes through it;
//   - tar names are unsafe paths: absolute names, names with a ".."
//     component, hardlinks to anything but an earlier regular file (the
//     target is resolved inside the root as a parent directory is), symlink
//     loops (more than 40 links), names that resolve to a path longer than
//     4095 bytes and paths that would need a directory created below a
//     dangling symlink and then "..", are rejected with an error naming the
//     layer and entry (*EntryError wrapping ErrUnsafePath);
//   - a whiteout or opaque whiteout hides what lower layers made and nothing
//     its own layer wrote, whatever the order of the layer's entries (OCI
//     image spec): what the layer wrote below it is kept, and a hidden lower
//     directory the layer wrote into becomes what an implicitly created
//     directory is (mode 0755, owned by root, no mtime to verify). Its path
//     is resolved in the tree lower layers left, as the spec means; a
//     whiteout whose effect would differ when resolved after the layer's
//     earlier entries (the layer changed a symlink on its way), or that would
//     remove a symlink, directory or file an earlier entry of the layer went
//     through or linked to, depends on the order of the entries and is
//     refused (ErrCorrupt);
//   - setuid and setgid bits, security.capability xattrs, FIFOs, block
//     devices and character devices outside the safe table (null, zero,
//     full, random, urandom, tty) are refused (ErrPolicy) unless allowed by
//     WithAllowDevices;
//   - the jail's rule that nothing is world-writable, which the build
//     enforces, holds for foreign images too: o+w is masked off regular files
//     and off directories without the sticky bit (a 1777 /tmp keeps its
//     mode; devices, symlinks and hardlinks are left alone), and Unpack logs
//     one warning with the count and the first path; WithStrict refuses such
//     an image instead (ErrPolicy, naming the layer and entry). Verify's
//     model applies the same rule, so a masked tree shows no drift;
//   - total uncompressed bytes, entry count and compression ratio are bounded
//     (ErrLimit), checked while streaming so a bomb stops early;
//   - each layer's compressed digest and size, and its diff_id from the
//     config, are checked against the bytes read (ErrDigest); trailing data
//     after the end of a tar archive is refused (ErrCorrupt);
//   - only the layer's own faults blame the image (ErrUnsafePath,
//     ErrPolicy, ErrLimit, ErrDigest, ErrCorrupt; see IsBadImage): a failure
//     of the host while writing (a full disk, EACCES, EIO) or of the blob's
//     source while reading it (a layout file, a registry connection) is
//     returned with its own error, errno or *registry.Error, never as a
//     corrupt layer;
//   - before the first byte is written, the free space of TARGET's file
//     system (statfs; root may use the blocks reserved for it) is compared
//     with what the image needs at least: the size of its uncompressed
//     layers and the compressed size of the others, which unpack to more.
//     The comparison is made again every 16 MiB written, with the
//     compressed bytes still to read; too little space, or a write that
//     fails with ENOSPC or EDQUOT, is a *SpaceError giving the mount point,
//     the bytes free and the bytes needed. The new generation is written
//     beside the live one, so the file system needs room for both;
//   - a directory is writable by its owner while its children are written
//     and gets its own mode once every entry is in place, so that a user
//     other than root can unpack an image with a read-only directory;
//   - the new tree is written in TARGET/.staging-*, made durable with one
//     syncfs, renamed to TARGET/gen-*, and made live by renaming a new
//     symlink over TARGET/current, so a crash at any point leaves either the
//     old tree or the new one live; leftovers are removed by the next run;
//   - removal never leaves the file system of TARGET nor crosses a mount
//     point: the old generation, leftovers, staging directories and entries
//     a layer replaces are removed by directory fd without following a
//     symlink (see internal/rmtree), after a walk that compares statx mount
//     ids (which, unlike st_dev, also tell a bind mount of a directory of the
//     same file system). A tree with a mount point in it (a host directory
//     an administrator bind-mounted into the live jail) is left whole, with
//     a warning naming the mount points; Unpack still succeeds, with the new
//     generation live, and the first unpack after they are unmounted
//     removes the tree;
//   - an old generation that a process still has as its root directory (a
//     service jailimg run started there, serving while an upgrade unpacks
//     its successor) is left in place, logged with the pids, and removed by
//     the first unpack after the process is gone;
//   - TARGET must be one bundle.Open trusts: owned by root or the effective
//     uid and writable by neither group nor others (else bundle.ErrUnsafe:
//     others could swap current once Unpack is done); a TARGET Unpack
//     creates is made mode 0755 whatever the umask;
//   - unpacking the image that is already live changes nothing
//     (Result.Changed is false). "Already live" means a generation that
//     bundle.Open trusts (a real gen directory and rootfs, a trusted regular
//     image.json) with the image's manifest digest and the image's config
//     (compared as canonical JSON: run takes the entrypoint, user and policy
//     from it). Any other live generation is replaced by a fresh one and
//     removed, without following a symlink in it.
//
// Unpack runs a layer as a pipeline: the blob is decompressed on its own
// goroutine and its digest hashed on another; the goroutine walking the tar
// hashes the diff_id as it reads, and the contents of regular files are
// written by a few writer goroutines while the tar is walked. None of this
// changes what is written or refused: every operation on a name (resolving a
// parent, creating, linking, removing) stays on the goroutine walking the
// tar, in the order of the entries; a writer is handed the descriptor of a
// file created there and only writes, chowns, chmods and sets the mtime
// through it. An entry that removes or replaces a path (a later duplicate, a
// whiteout, an opaque whiteout, a file or symlink over a directory) waits
// for the writes still running at and below it, a hardlink for the write of
// its target, and each layer's writes are done before the next layer starts
// (see writers in write_linux.go). When several writes fail at once (a full
// disk), the error reported is that of the first of them in the stream, with
// its errno (a full disk is a *SpaceError), never as a corrupt layer; a read
// error of the blob's source stays the source's though the decoding
// goroutine met it. At most 1 MiB of file contents wait for a writer, so the
// free-space check, made on the walking goroutine as contents are handed to
// the writers, runs at most that far ahead of the writes. The buffers of the
// pipeline, about 1.9 MiB, are mapped once per process in one region
// advised for a transparent huge page (see newBuffer), and reused. A gzip
// layer that jailimg build wrote, a series of independent members, is
// decoded on every core, up to four (see internal/gzmember): each member
// on its own, checked against its CRC-32 and size, its output handed on in
// order, in buffers of a second huge page (1.5 MiB for two cores; with
// four, 2.5 MiB, the rest from the heap); from
// the first member another tool wrote, the rest is decoded on one
// goroutine, as any gzip layer is.
//
// Verify reports a drift of image.json when its manifest digest or config
// differs from the image's, besides every difference of the tree. The live
// tree may be changing under it, written by a hostile service: Verify walks
// it from the rootfs descriptor bundle.Bundle.OpenRoot checked, never by
// path, opening one element at a time with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), O_NOFOLLOW and O_NONBLOCK;
// it reads a file only once fstat of the open descriptor says it is a
// regular file. A FIFO, device or symlink where the image has a file (or a
// directory) is reported as a "type" drift, never read or followed, and a
// directory swapped while Verify is inside it is reported too.
//
// Extended attributes other than security.capability are ignored, not
// applied.
//
// Ownership is applied only when running as root; device nodes need root.
package unpack
