// Package resolve computes the ELF dependency closure of binaries: every file
// the glibc dynamic loader opens to start them, and every symlink it follows on
// the way, so that a jail holding exactly those files and links loads them as
// the source root does.
//
// It reads the source root through an fs.FS and never runs ldd, ld.so or the
// binaries. It follows glibc's rules: PT_INTERP; DT_NEEDED breadth-first in
// load order, a name already loaded (by request name or DT_SONAME, or a file
// already loaded under another name) not being searched again; a DT_NEEDED
// containing '/' taken as a path; DT_RPATH of the requesting object and of its
// loaders up to the executable unless the requester has DT_RUNPATH; DT_RUNPATH
// of the requester only; /etc/ld.so.cache (format glibc-ld.so.cache1.1,
// including glibc-hwcaps entries); the system directories. Every search
// directory is tried first under its glibc-hwcaps subdirectories active for the
// CPU (x86-64-v4, -v3, -v2 on x86_64). $ORIGIN, $LIB and $PLATFORM are
// expanded. Candidates of another ELF class, data encoding or machine are
// skipped; a candidate that is not ELF at all stops the search with an error,
// as it does in ld.so. LD_LIBRARY_PATH and LD_PRELOAD are never consulted.
//
// Guarantees:
//   - Symlinks are resolved with chroot semantics inside the fs.FS: an absolute
//     target restarts at the root of the fs.FS and ".." never climbs above it.
//     Only paths without symlink components are ever opened, and only regular
//     files are opened, so with os.DirFS nothing outside the directory is read.
//     When the fs.FS exposes inodes, a file that is not the one checked when
//     it is opened (a root changed concurrently) is refused; an os.Root's FS
//     (os.OpenRoot(dir).FS()) also keeps concurrent changes from making the
//     opens themselves leave the directory. Walk and WalkNoFollow expose
//     this walk, as the kernel's path resolution in a chroot (at most 40
//     symlinks, PATH_MAX, ENOTDIR for a non-directory with components after
//     it), to callers that need a path's real name and the links on its way.
//   - Malformed ELF input yields an error naming the file, never a panic:
//     files over 1 GiB are refused, counts and string lengths are capped, and
//     panics from debug/elf are recovered.
//   - Results are sorted and independent of map order and goroutine scheduling.
//
// Not handled: legacy hwcaps subdirectories (tls/, x86_64/) and legacy hwcap
// entries of ld.so.cache, DT_AUXILIARY/DT_FILTER, LD_PRELOAD and
// /etc/ld.so.preload, secure-mode (setuid) restrictions, and relative paths
// (in DT_NEEDED or search paths), which are taken relative to the root as if
// the jail's working directory were "/". Without an ld.so.cache the resolver
// reads /etc/ld.so.conf instead, as the cache ldconfig would build from it.
// Libraries found only that way, outside the system directories, are listed
// in Closure.Cache: the real loader finds them in a jail only through an
// ld.so.cache of the jail's own, which WriteCache makes.
package resolve
