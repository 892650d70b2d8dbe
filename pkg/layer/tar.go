package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/jailimg/jailimg/pkg/tree"
)

// ErrChanged is returned when a host file's size changed during the build.
var ErrChanged = errors.New("file changed while it was read")

// WriteTar writes the tree as an uncompressed tar stream: the tree's entries
// in walk order, the root left out, every entry's mtime set to mtime.
func WriteTar(w io.Writer, t *tree.Tree, mtime time.Time) error {
	tw := tar.NewWriter(w)
	firstOf := map[tree.FileID]*tree.Entry{} // host inode -> first entry stored
	for _, e := range t.Walk() {
		if e.Path == "/" {
			continue
		}
		hdr := header(e, mtime.UTC().Truncate(time.Second))
		if e.Type == tree.Reg && e.ID != (tree.FileID{}) {
			if first, ok := firstOf[e.ID]; ok && first.Mode == e.Mode && first.UID == e.UID && first.GID == e.GID {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, strings.TrimPrefix(first.Path, "/"), 0
			} else if !ok {
				firstOf[e.ID] = e
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar header for %s: %w", e.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(tw, e); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// header builds a tar header from the entry alone: nothing from the host's
// stat data leaks into it.
func header(e *tree.Entry, mtime time.Time) *tar.Header {
	h := &tar.Header{
		Name:    strings.TrimPrefix(e.Path, "/"),
		Mode:    tarMode(e.Mode),
		Uid:     int(e.UID),
		Gid:     int(e.GID),
		ModTime: mtime,
		Format:  tar.FormatPAX,
	}
	switch e.Type {
	case tree.Dir:
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
	case tree.Reg:
		h.Typeflag, h.Size = tar.TypeReg, e.Size
	case tree.Symlink:
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Target, 0o777
	case tree.CharDev:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, int64(e.Major), int64(e.Minor)
	case tree.BlockDev:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeBlock, int64(e.Major), int64(e.Minor)
	}
	return h
}

// tarMode converts permission and special bits to the tar (and stat) encoding.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// copyFile writes exactly e.Size bytes of e's contents, failing if the file
// is shorter or longer than it was when the tree was made.
func copyFile(w io.Writer, e *tree.Entry) error {
	if e.Open == nil {
		return fmt.Errorf("%s: regular file without contents", e.Path)
	}
	rc, err := e.Open()
	if err != nil {
		return fmt.Errorf("opening %s for %s: %w", e.Source, e.Path, err)
	}
	defer rc.Close()
	n, err := io.CopyN(w, rc, e.Size)
	if err == io.EOF {
		return fmt.Errorf("%s (%s): %w (%d bytes when listed, %d when read)", e.Source, e.Path, ErrChanged, e.Size, n)
	}
	if err == nil && !atEOF(rc) {
		// Files of /proc and /sys say 0 bytes and have more: never copy them.
		return fmt.Errorf("%s (%s): %w (%d bytes when listed, more when read)", e.Source, e.Path, ErrChanged, e.Size)
	}
	if err != nil {
		return fmt.Errorf("reading %s for %s: %w", e.Source, e.Path, err)
	}
	return nil
}

func atEOF(r io.Reader) bool {
	var b [1]byte
	n, _ := r.Read(b[:])
	return n == 0
}
