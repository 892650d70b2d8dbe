package deb_test

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

// tarEntry is one entry of a generated tar: "dir", "file", "symlink",
// "link", "char", with a body or a link target.
type tarEntry struct {
	name, kind, body string
	mode             int64
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		switch e.kind {
		case "dir":
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case "file":
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		case "symlink":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.body
		case "link":
			h.Typeflag, h.Linkname = tar.TypeLink, e.body
		case "char":
			h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.kind == "file" {
			io.WriteString(tw, e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compress compresses b as the suffix says ("", ".gz", ".xz", ".zst").
func compress(t testing.TB, suffix string, b []byte) []byte {
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

// arMember is one member of a generated ar archive.
type arMember struct {
	name string
	data []byte
}

func makeAr(members ...arMember) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		buf.Write(m.data)
		if len(m.data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

const testControl = "Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDescription: a test\n"

// makeDeb returns a .deb with the given compression of both tars and the
// data entries.
func makeDeb(t testing.TB, suffix string, data ...tarEntry) []byte {
	t.Helper()
	control := makeTar(t, tarEntry{name: "./", kind: "dir"}, tarEntry{name: "./control", kind: "file", body: testControl},
		tarEntry{name: "./postinst", kind: "file", body: "#!/bin/sh\ntouch /tmp/pwned\n", mode: 0o755})
	return makeAr(
		arMember{"debian-binary", []byte("2.0\n")},
		arMember{"control.tar" + suffix, compress(t, suffix, control)},
		arMember{"data.tar" + suffix, compress(t, suffix, makeTar(t, data...))},
	)
}
