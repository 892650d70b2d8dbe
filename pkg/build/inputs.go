package build

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Input is something the build put into the image: a file it copied from
// the build root or the recipe's directory, with the sha256 of the bytes
// that went into the layer. It has the shape of a resolved dependency of
// SLSA provenance, so that a build from packages can add its lock's
// packages here too (a package URL as URI, the package as Name).
type Input struct {
	// URI names it: file:///usr/sbin/nginx, the file's absolute path on
	// the build machine (under the build root for one of its files).
	URI string
	// Name is where a file's bytes are in the jail: /usr/sbin/nginx.
	Name string
	// Digest is the sha256 of the bytes copied into the layer, hashed as
	// they were copied.
	Digest v1.Hash
}

// WithInputs has f called once Image has written the layer, with every
// file it copied into the jail, sorted by Name: the resolved dependencies
// of the image's provenance. Each digest is of the bytes the layer got,
// not of a second read of the file. A file the jail holds twice as a
// hard link is listed once. Default: not collected.
func WithInputs(f func([]Input)) Option { return func(o *options) { o.inputs = f } }

// inputs collects the Inputs of one build.
type inputs struct {
	mu  sync.Mutex
	got map[string]Input // by jail path
}

// wrap returns open with the bytes it yields hashed, and file noted as
// an input at dst once they are read to the end.
func (in *inputs) wrap(file, dst string, open func() (io.ReadCloser, error)) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		return &hashingReader{ReadCloser: rc, h: sha256.New(), done: func(h v1.Hash) {
			in.mu.Lock()
			defer in.mu.Unlock()
			in.got[dst] = Input{URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Clean(file))}).String(), Name: dst, Digest: h}
		}}, nil
	}
}

// list returns the inputs sorted by Name.
func (in *inputs) list() []Input {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Input, 0, len(in.got))
	for _, i := range in.got {
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// hashingReader hashes what is read through it and calls done with the
// digest when it reaches the end.
type hashingReader struct {
	io.ReadCloser
	h    hash.Hash
	done func(v1.Hash)
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF && r.done != nil {
		r.done(v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(r.h.Sum(nil))})
		r.done = nil
	}
	return n, err
}
