// Package tree is the in-memory model of a jail: a set of entries keyed by
// absolute path, each a directory, regular file, symlink or device node with
// its mode and numeric owner.
//
// A Tree guarantees that every entry's parent is a directory in the tree,
// that no path is claimed twice with different contents, and (through Check)
// that the jail holds no setuid or setgid file and nothing world-writable
// without the sticky bit. Walk returns entries in a fixed order, parents
// first, so whatever is built from a tree is reproducible.
//
// A tree holds no file contents, only a way to open them.
package tree
