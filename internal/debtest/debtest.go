// Package debtest makes .deb files for tests: ar archives holding a
// control.tar and a data.tar in any compression dpkg-deb writes.
package debtest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Entry is one entry of a generated tar: Kind "dir", "file", "symlink",
// "link" or "char", with a Body (a file's contents, a link's target).
type Entry struct {
	Name, Kind, Body string
	Mode             int64
}

// Tar returns a tar archive of entries.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: e.Mode}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		switch e.Kind {
		case "dir":
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case "file":
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Body))
		case "symlink":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Body
		case "link":
			h.Typeflag, h.Linkname = tar.TypeLink, e.Body
		case "char":
			h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.Kind == "file" {
			io.WriteString(tw, e.Body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Compress compresses b as the suffix says ("", ".gz", ".xz", ".zst").
func Compress(t testing.TB, suffix string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch suffix {
	case "":
		return b
	case ".gz":
		w = gzip.NewWriter(&buf)
	case ".xz":
		w, err = xz.WriterConfig{DictCap: 1 << 16}.NewWriter(&buf)
	case ".zst":
		w, err = zstd.NewWriter(&buf)
	default:
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Member is one member of a generated ar archive.
type Member struct {
	Name string
	Data []byte
}

// Ar returns an ar archive of members.
func Ar(members ...Member) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.Name, 0, 0, 0, "100644", len(m.Data))
		buf.Write(m.Data)
		if len(m.Data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// Control is the control file Deb writes.
const Control = "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: a test\n"

// Deb returns a .deb with the control file Control, a postinst that would
// create /tmp/pwned if anything ran it, and the data entries, both tars
// compressed as suffix says.
func Deb(t testing.TB, suffix string, data ...Entry) []byte {
	return DebWith(t, suffix, Control, data...)
}

// DebWith is Deb with another control file.
func DebWith(t testing.TB, suffix, control string, data ...Entry) []byte {
	t.Helper()
	ctl := Tar(t, Entry{Name: "./", Kind: "dir"}, Entry{Name: "./control", Kind: "file", Body: control},
		Entry{Name: "./postinst", Kind: "file", Body: "#!/bin/sh\ntouch /tmp/pwned\n", Mode: 0o755})
	return Ar(
		Member{Name: "debian-binary", Data: []byte("2.0\n")},
		Member{"control.tar" + suffix, Compress(t, suffix, ctl)},
		Member{"data.tar" + suffix, Compress(t, suffix, Tar(t, data...))},
	)
}
