package layout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// openRegular opens file in the layout at dir for reading, refusing a
// symlink, and anything but a regular file without blocking on it (a FIFO).
func openRegular(dir, file string) (*os.File, int64, error) {
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		err = errors.New("a symlink, not a regular file")
	}
	if err != nil {
		return nil, 0, invalid(dir, file, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, 0, invalid(dir, file, err)
	}
	return f, fi.Size(), nil
}

// readFile reads file in the layout at dir, at most limit bytes.
func readFile(dir, file string, limit int64) ([]byte, error) {
	f, size, err := openRegular(dir, file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, invalid(dir, file, fmt.Errorf("%d bytes, more than the limit of %d", size, limit))
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("more than the limit of %d bytes", limit)
	}
	if err != nil {
		return nil, invalid(dir, file, err)
	}
	return b, nil
}

// readBlob reads the blob d describes (what: "manifest", "config"), at most
// limit bytes, and checks its size and digest against d.
func readBlob(dir, what string, d v1.Descriptor, limit int64) ([]byte, error) {
	if d.Digest.Algorithm != "sha256" {
		return nil, invalid(dir, what, fmt.Errorf("unsupported digest %q", d.Digest))
	}
	file := blobName(d.Digest)
	if d.Size < 0 || d.Size > limit {
		return nil, invalid(dir, file, fmt.Errorf("%s: declared size %d out of range 0..%d", what, d.Size, limit))
	}
	f, size, err := openRegular(dir, file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size != d.Size {
		return nil, invalid(dir, file, fmt.Errorf("%s: %d bytes, descriptor says %d", what, size, d.Size))
	}
	b, err := io.ReadAll(io.LimitReader(f, d.Size+1))
	if err == nil && int64(len(b)) != d.Size {
		err = fmt.Errorf("%s: %d bytes read, descriptor says %d", what, len(b), d.Size)
	}
	if err != nil {
		return nil, invalid(dir, file, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != d.Digest.Hex {
		return nil, invalid(dir, file, fmt.Errorf("%s: content digest sha256:%s does not match the descriptor", what, got))
	}
	return b, nil
}

// statBlob checks that the blob d describes is a regular file of d's size,
// without reading it.
func statBlob(dir, what string, d v1.Descriptor) error {
	if d.Digest.Algorithm != "sha256" {
		return invalid(dir, what, fmt.Errorf("unsupported digest %q", d.Digest))
	}
	file := blobName(d.Digest)
	fi, err := os.Lstat(filepath.Join(dir, file))
	switch {
	case err != nil:
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err
		}
		return invalid(dir, file, fmt.Errorf("%s: %w", what, err))
	case !fi.Mode().IsRegular():
		return invalid(dir, file, fmt.Errorf("%s: not a regular file (%s)", what, fi.Mode().Type()))
	case fi.Size() != d.Size:
		return invalid(dir, file, fmt.Errorf("%s: %d bytes, descriptor says %d", what, fi.Size(), d.Size))
	}
	return nil
}

// layoutImage is the partial.CompressedImageCore behind Image: the
// manifest and config bytes Image verified, and layers read from the
// layout's blobs.
type layoutImage struct {
	dir              string
	desc             v1.Descriptor
	manifest, config []byte
	configDesc       v1.Descriptor
	layers           []v1.Descriptor
	diffIDs          []v1.Hash // the config's, one per layer
}

var _ partial.CompressedImageCore = (*layoutImage)(nil)

// RawManifest implements partial.CompressedImageCore.
func (li *layoutImage) RawManifest() ([]byte, error) { return li.manifest, nil }

// RawConfigFile implements partial.CompressedImageCore.
func (li *layoutImage) RawConfigFile() ([]byte, error) { return li.config, nil }

// MediaType implements partial.CompressedImageCore.
func (li *layoutImage) MediaType() (types.MediaType, error) { return li.desc.MediaType, nil }

// Descriptor implements partial.Describable: the index's descriptor.
func (li *layoutImage) Descriptor() (*v1.Descriptor, error) { d := li.desc; return &d, nil }

// LayerByDigest implements partial.CompressedImageCore.
func (li *layoutImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == li.configDesc.Digest {
		return &blobLayer{dir: li.dir, desc: li.configDesc, data: li.config}, nil
	}
	for i, d := range li.layers {
		if d.Digest == h {
			return &blobLayer{dir: li.dir, desc: d, diffID: li.diffIDs[i]}, nil
		}
	}
	return nil, fmt.Errorf("OCI layout %s: image %s has no layer %s", li.dir, li.desc.Digest, h)
}

// blobLayer is a blob of a layout: read from the file, or served from data
// once verified.
type blobLayer struct {
	dir    string
	desc   v1.Descriptor
	data   []byte
	diffID v1.Hash // from the config, so that DiffID never decompresses the blob
}

// Digest implements partial.CompressedLayer.
func (b *blobLayer) Digest() (v1.Hash, error) { return b.desc.Digest, nil }

// DiffID implements partial.WithDiffID: the config's (the config blob has
// none, and its DiffID is its digest, as it is not compressed).
func (b *blobLayer) DiffID() (v1.Hash, error) {
	if b.diffID == (v1.Hash{}) {
		return b.desc.Digest, nil
	}
	return b.diffID, nil
}

// Size implements partial.CompressedLayer.
func (b *blobLayer) Size() (int64, error) { return b.desc.Size, nil }

// MediaType implements partial.CompressedLayer.
func (b *blobLayer) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }

// Descriptor implements partial.Describable.
func (b *blobLayer) Descriptor() (*v1.Descriptor, error) { d := b.desc; return &d, nil }

// Compressed implements partial.CompressedLayer. The blob must be a regular
// file of the declared size; its digest is for the reader to check.
func (b *blobLayer) Compressed() (io.ReadCloser, error) {
	if b.data != nil {
		return io.NopCloser(bytes.NewReader(b.data)), nil
	}
	file := blobName(b.desc.Digest)
	f, size, err := openRegular(b.dir, file)
	if err != nil {
		return nil, err
	}
	if size != b.desc.Size {
		f.Close()
		return nil, invalid(b.dir, file, fmt.Errorf("%d bytes, descriptor says %d", size, b.desc.Size))
	}
	return f, nil
}
