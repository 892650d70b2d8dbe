// Package deb reads Debian binary packages (.deb files) without dpkg: the
// ar archive, the control file of control.tar and the entries of
// data.tar, each compressed with gzip, xz or zstd, or not at all.
//
// A .deb is hostile input until its sha256 has been checked against a lock
// (package sysroot does that before opening one), and this package is
// written for it anyway: every ar member must lie inside the file, the
// control file is read whole only up to MaxControl bytes, data.tar is read
// as a stream with at most MaxEntries entries and MaxDataSize bytes of file
// contents, and a malformed archive is an error naming the member, never
// a panic.
//
// Extract writes the data.tar entries into a directory through an os.Root:
// no name, symlink or hard link can make it write outside that directory.
// It writes directories, regular files, symlinks and hard links only;
// device nodes and FIFOs are refused. Permission bits are kept, setuid,
// setgid and sticky bits and owners are not: an extracted tree is what a
// build copies from, never a system anything runs in. Extract never runs
// anything: a package's maintainer scripts (preinst, postinst) live in
// control.tar, which Extract does not unpack.
package deb
