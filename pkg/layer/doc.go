// Package layer turns a jail tree into a reproducible OCI layer.
//
// The tar stream is a pure function of the tree and the chosen mtime: entries
// in tree.Walk order (parents first), every header field written explicitly
// (numeric owners, empty user and group names, one mtime, no atime, ctime or
// xattrs), PAX format only where USTAR cannot hold a field, and host files
// that share an inode stored as tar hardlinks to the first path in walk
// order. Compression uses fixed settings, and gzip headers hold nothing of
// the host (no name, no mtime), so the same tree yields the same digest on
// any machine, whatever its cores. A
// gzip layer is a series of independent members of 256 KiB of tar each
// (see internal/gzmember): any gzip reader reads it as one stream, and
// jailimg unpack decodes its members on every core; they cost about 0.5%
// of size over one stream.
//
// FromTree reads each host file once. A layer's compressed bytes are not
// held in memory: they go to a temporary file in os.TempDir() (TMPDIR), or
// in the directory given with WithTempDir, that has no name: an O_TMPFILE
// file, so nothing is left on disk however the process ends; where the file
// system has no O_TMPFILE, a file unlinked right after its creation (only a
// kill in between would leave it, as .jailimg-layer-*). The space is freed
// when the layer is closed (Layer.Close) or garbage-collected. A full or unwritable temporary
// directory is an error naming it. Readers of a layer are independent and
// may run at once; on Linux with /proc each is an *os.File of its own, so
// copying a layer into a file stays in the kernel (copy_file_range).
package layer
