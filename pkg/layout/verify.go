package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
)

// BlobError is a blob in a layout whose content does not match its
// descriptor.
type BlobError struct {
	Path      string
	Want      v1.Descriptor
	GotDigest v1.Hash
	GotSize   int64
}

func (e *BlobError) Error() string {
	if e.GotSize != e.Want.Size {
		return fmt.Sprintf("blob %s: size %d, want %d", e.Path, e.GotSize, e.Want.Size)
	}
	return fmt.Sprintf("blob %s: digest %s, want %s", e.Path, e.GotDigest, e.Want.Digest)
}

// Is reports a BlobError as ErrInvalid.
func (e *BlobError) Is(target error) bool { return target == ErrInvalid }

// Blobs lists the sha256 blobs the layout at p holds, by hex digest: taken
// before a layout writer adds an image, the blobs it skipped unread, which
// VerifyImage must hash.
func Blobs(p ocilayout.Path) map[string]bool {
	set := map[string]bool{}
	entries, _ := os.ReadDir(string(p) + "/blobs/sha256")
	for _, e := range entries {
		set[e.Name()] = true
	}
	return set
}

// VerifyImage hashes the manifest digest names in the layout at p and
// checks it, its config and its layers against their descriptors. Blobs not
// in recheck are skipped: they were just downloaded, and go-containerregistry
// verified their digest and size as they streamed in. Blobs that were
// already in the layout were skipped by the layout writer, unread, so they
// are the ones a pull must hash.
func VerifyImage(p ocilayout.Path, digest v1.Hash, recheck map[string]bool) error {
	raw, err := checkBlob(p, v1.Descriptor{Digest: digest, Size: -1})
	if err != nil {
		return err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("manifest %s: %w", digest, err)
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if !recheck[d.Digest.Hex] {
			continue
		}
		if _, err := checkBlob(p, d); err != nil {
			return err
		}
	}
	return nil
}

// CheckStaged checks that the index.json of p, the copy of the layout at
// dir that Update gives its fn, parses: a broken local layout is reported
// as one (an *Error naming dir, matching ErrInvalid), not blamed on where
// the image comes from.
func CheckStaged(dir string, p ocilayout.Path) error {
	raw, err := readFile(string(p), "index.json", maxIndexSize)
	if err == nil {
		var im v1.IndexManifest
		if err = json.Unmarshal(raw, &im); err != nil {
			err = invalid(dir, "index.json", err)
		}
	}
	var le *Error
	if errors.As(err, &le) {
		le.Dir = dir
	}
	return err
}

// checkBlob hashes the blob d names and compares digest and size (a
// negative d.Size is not compared). It returns the blob's bytes when it is
// no larger than 4 MiB, for the manifest.
func checkBlob(p ocilayout.Path, d v1.Descriptor) ([]byte, error) {
	if d.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: unsupported digest algorithm", d.Digest)
	}
	file := string(p) + "/blobs/sha256/" + d.Digest.Hex
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	var small limitedBuffer
	n, err := io.Copy(io.MultiWriter(h, &small), f)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", file, err)
	}
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if got != d.Digest || (d.Size >= 0 && n != d.Size) {
		want := d
		if want.Size < 0 {
			want.Size = n
		}
		return nil, &BlobError{Path: file, Want: want, GotDigest: got, GotSize: n}
	}
	return small.b, nil
}

// limitedBuffer keeps the first 4 MiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4<<20 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
