// Package layer turns a jail tree into a reproducible OCI layer.
//
// The tar stream is a pure function of the tree and the chosen mtime: entries
// in tree.Walk order (parents first), every header field written explicitly
// (numeric owners, empty user and group names, one mtime, no atime, ctime or
// xattrs), PAX format only where USTAR cannot hold a field, and host files
// that share an inode stored as tar hardlinks to the first path in walk
// order. Compression uses fixed settings and an empty gzip header, so the
// same tree yields the same digest on any machine.
//
// A layer's compressed bytes are held in memory; FromTree reads each host
// file once.
package layer
