package image

import (
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// blobName is the path of a blob inside a layout.
func blobName(h v1.Hash) string {
	return filepath.Join("blobs", h.Algorithm, h.Hex)
}
