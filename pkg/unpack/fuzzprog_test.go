package unpack

import (
	"archive/tar"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzUnpack mutates a compact program that describes layers, not raw tar
// bytes: nearly every input is then a well-formed layer that reaches the
// applier (a random byte flip in a tar header mostly breaks its checksum),
// and an input is a few dozen bytes, so that the fuzzer's minimization of
// each new input takes milliseconds, not the minute it took on tar
// streams. The tar streams are written with archive/tar and read back by
// the walker as any layer is.
//
// A program is a list of entries; the byte 0xff starts the next layer.
// An entry is a type byte (fuzzTypes), a path, an attribute byte (mode,
// owner, body or device, mtime), and for links a flag byte (bit 0: an
// absolute target) and a target path. A path is a count byte (0 to 4) and
// that many indexes into fuzzWords.
var (
	fuzzWords = []string{"", ".", "..", "a", "b", "d", "f", "g", "h", "x", "s", "lib", "usr", "bin", "lib64", "up", "abs",
		"out", "outside", "null", "sentinel", "victim", "libc.so", ".wh.a", ".wh.b", ".wh.d", ".wh.f", ".wh.x", ".wh.lib", ".wh.usr",
		".wh.s", ".wh.g", ".wh.sentinel", ".wh.victim", ".wh.lib64", ".wh.libc.so", ".wh..wh..opq", ".wh..", ".wh..wh.plnk"}
	fuzzTypes  = []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo, tar.TypeXGlobalHeader}
	fuzzModes  = []int64{0o644, 0o755, 0o700, 0o1777, 0o600, 0o777, 0o4755, 0o666}
	fuzzOwners = [][2]int{{0, 0}, {5, 6}, {1000, 1000}}

	fuzzBodies = []string{"", "x", "yy", "zzz"}
	fuzzDevs   = [][2]int64{{1, 3}, {1, 9}, {1, 1}, {5, 0}}
)

const (
	fuzzNextLayer = 0xff
	// fuzzMaxProg is how much of a program counts: the rest is ignored, so
	// that minimizing a grown input cuts its tail first and fast.
	fuzzMaxProg = 128
	// fuzzMaxLayers is how many layers a program has at most.
	fuzzMaxLayers = 3
)

// progReader reads a program; past its end it reads zeros.
type progReader struct{ b []byte }

func (p *progReader) next() byte {
	if len(p.b) == 0 {
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *progReader) path() string {
	n := int(p.next() % 5)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fuzzWords[int(p.next())%len(fuzzWords)]
	}
	return strings.Join(parts, "/")
}

// decodeProg turns a program into at most fuzzMaxLayers layers of entries.
func decodeProg(prog []byte) [][]ent {
	p := &progReader{prog[:min(len(prog), fuzzMaxProg)]}
	layers := [][]ent{nil}
	for len(p.b) > 0 {
		op := p.next()
		if op == fuzzNextLayer {
			if len(layers) == fuzzMaxLayers {
				break
			}
			layers = append(layers, nil)
			continue
		}
		e := ent{Type: fuzzTypes[int(op)%len(fuzzTypes)], Name: p.path()}
		a := p.next()
		e.Mode = fuzzModes[a&7]
		o := fuzzOwners[int(a>>3&3)%len(fuzzOwners)]
		e.Uid, e.Gid = o[0], o[1]
		e.MTime = epoch.Unix() + int64(a>>7)
		switch e.Type {
		case tar.TypeReg:
			e.Body = fuzzBodies[a>>5&3]
		case tar.TypeDir:
			e.Name += "/"
		case tar.TypeChar, tar.TypeBlock:
			d := fuzzDevs[a>>5&3]
			e.Major, e.Minor = d[0], d[1]
		case tar.TypeSymlink, tar.TypeLink:
			flags := p.next()
			e.Link = p.path()
			if flags&1 != 0 {
				e.Link = "/" + e.Link
			}
		case tar.TypeXGlobalHeader:
			e = ent{Type: tar.TypeXGlobalHeader, PAX: map[string]string{"comment": e.Name}}
		}
		layers[len(layers)-1] = append(layers[len(layers)-1], e)
	}
	return layers
}

// encodeProg is decodeProg's inverse for the seeds, written as entries:
// every name component, mode, owner, body and device must be in the tables.
func encodeProg(layers ...[]ent) []byte {
	var out []byte
	index := func(i int, what string, v any) byte {
		if i < 0 {
			panic(fmt.Sprintf("fuzz seed: %s %v is not in the tables", what, v))
		}
		return byte(i)
	}
	path := func(p string) {
		var parts []string
		if p != "" {
			parts = strings.Split(p, "/")
		}
		out = append(out, byte(len(parts)))
		for _, c := range parts {
			out = append(out, index(slices.Index(fuzzWords, c), "word", c))
		}
	}
	for i, l := range layers {
		if i > 0 {
			out = append(out, fuzzNextLayer)
		}
		for _, e := range l {
			typ := e.Type
			if typ == 0 {
				typ = tar.TypeReg
			}
			out = append(out, index(slices.Index(fuzzTypes, typ), "type", typ))
			path(strings.TrimSuffix(e.Name, "/"))
			mode := e.Mode
			if mode == 0 {
				mode = map[bool]int64{true: 0o755, false: 0o644}[typ == tar.TypeDir]
			}
			a := index(slices.Index(fuzzModes, mode), "mode", mode)
			a |= index(slices.Index(fuzzOwners, [2]int{e.Uid, e.Gid}), "owner", e.Uid) << 3
			switch typ {
			case tar.TypeReg:
				a |= index(slices.Index(fuzzBodies, e.Body), "body", e.Body) << 5
			case tar.TypeChar, tar.TypeBlock:
				a |= index(slices.Index(fuzzDevs, [2]int64{e.Major, e.Minor}), "device", e.Major) << 5
			}
			out = append(out, a)
			if typ == tar.TypeSymlink || typ == tar.TypeLink {
				link, flags := e.Link, byte(0)
				if strings.HasPrefix(link, "/") {
					link, flags = link[1:], 1
				}
				out = append(out, flags)
				path(link)
			}
		}
	}
	return out
}

// tarsOfProg writes the layers of a program as tar streams, leaving out an
// entry archive/tar will not write.
func tarsOfProg(prog []byte) [][]byte {
	var out [][]byte
	for _, l := range decodeProg(prog) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range l {
			h := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode, Uid: e.Uid, Gid: e.Gid,
				Devmajor: e.Major, Devminor: e.Minor, PAXRecords: e.PAX, ModTime: time.Unix(e.MTime, 0), Format: tar.FormatPAX}
			if e.Type == tar.TypeReg {
				h.Size = int64(len(e.Body))
			}
			if tw.WriteHeader(h) == nil {
				tw.Write([]byte(e.Body))
			}
		}
		tw.Close()
		out = append(out, buf.Bytes())
	}
	return out
}

// TestFuzzProg checks that the seeds survive encoding.
func TestFuzzProg(t *testing.T) {
	for i, s := range fuzzSeeds() {
		prog := encodeProg(s...)
		if len(prog) > fuzzMaxProg {
			t.Errorf("seed %d is %d bytes, more than %d", i, len(prog), fuzzMaxProg)
		}
		got := decodeProg(prog)
		for j := range s {
			for k := range s[j] {
				w, g := s[j][k], got[j][k]
				if w.Type == 0 {
					w.Type = tar.TypeReg
				}
				if w.Mode == 0 {
					w.Mode = g.Mode
				}
				w.MTime = g.MTime
				if fmt.Sprint(w) != fmt.Sprint(g) {
					t.Errorf("seed %d, layer %d, entry %d: decoded %+v, want %+v", i, j, k, g, w)
				}
			}
		}
	}
}
