package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
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

// blobSet lists the sha256 blobs a layout holds, by hex digest.
func blobSet(p layout.Path) map[string]bool {
	set := map[string]bool{}
	entries, _ := os.ReadDir(string(p) + "/blobs/sha256")
	for _, e := range entries {
		set[e.Name()] = true
	}
	return set
}

// verifyImageBlobs hashes the manifest digest names in the layout at p and
// checks it, its config and its layers against their descriptors. Blobs not
// in recheck are skipped: they were just downloaded, and go-containerregistry
// verified their digest and size as they streamed in. Blobs that were
// already in the layout were skipped by the layout writer, unread, so they
// are the ones a pull must hash.
func verifyImageBlobs(p layout.Path, digest v1.Hash, recheck map[string]bool) error {
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

// checkBlob hashes the blob d names and compares digest and size (a
// negative d.Size is not compared). It returns the blob's bytes when it is
// no larger than 4 MiB, for the manifest.
func checkBlob(p layout.Path, d v1.Descriptor) ([]byte, error) {
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
