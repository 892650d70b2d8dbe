package attach

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Suffixes of cosign's tag scheme.
const (
	Signatures   = "sig" // simple-signing payloads, their signature in an annotation
	Attestations = "att" // DSSE envelopes of in-toto statements
)

// Limits on what Read reads.
const (
	// MaxLayers is the most documents an attached image may hold (cosign's
	// own limit).
	MaxLayers = 1000
	// MaxPayload is the largest document Read reads.
	MaxPayload = 4 << 20
	// MaxTotal bounds the bytes of all documents of one attached image.
	MaxTotal = 64 << 20
)

var (
	// ErrNotFound is matched when a store has no image attached to a
	// digest under a suffix.
	ErrNotFound = errors.New("no attached image")
	// ErrInvalid is matched by an attached image or document that is
	// malformed, or whose bytes are not what its descriptor says.
	ErrInvalid = errors.New("invalid attached image")
)

// Tag returns the tag of the image attached to the image with digest d
// under suffix: sha256-HEX.SUFFIX.
func Tag(d v1.Hash, suffix string) string {
	return d.Algorithm + "-" + d.Hex + "." + suffix
}

// Store holds attached images by tag.
type Store interface {
	// Get returns the image tagged tag, or an error matching ErrNotFound
	// when there is none.
	Get(ctx context.Context, tag string) (v1.Image, error)
	// Put tags img as tag, replacing what the tag named.
	Put(ctx context.Context, tag string, img v1.Image) error
	// String says where the store is, for messages: a repository or
	// "oci:DIR".
	String() string
}

// Layer is one attached document.
type Layer struct {
	// MediaType is its layer's media type.
	MediaType types.MediaType
	// Annotations are its layer descriptor's: a signature, a predicate type.
	Annotations map[string]string
	// Payload is the document.
	Payload []byte
	// Digest is the payload's digest, as its descriptor says.
	Digest v1.Hash
	// Err, from Read, says why the payload could not be read as its
	// descriptor says (missing, cut short, altered); it matches
	// ErrInvalid, and Payload is then nil.
	Err error
}

// Error is an attached image, or one document of it, that is malformed or
// not what its descriptor says. It matches ErrInvalid.
type Error struct {
	Store string // where: a repository or "oci:DIR"
	Tag   string // sha256-HEX.SUFFIX
	Layer int    // the document's index, from 0; -1 for the image itself
	Err   error
}

func (e *Error) Error() string {
	if e.Layer < 0 {
		return fmt.Sprintf("%s:%s: %v", e.Store, e.Tag, e.Err)
	}
	return fmt.Sprintf("%s:%s: layer %d: %v", e.Store, e.Tag, e.Layer, e.Err)
}

// Unwrap returns the cause and ErrInvalid.
func (e *Error) Unwrap() []error { return []error{e.Err, ErrInvalid} }

// Read returns the documents attached to the image with digest d under
// suffix in s, in the order of their layers, or an error matching
// ErrNotFound when there is no such attached image. A document whose
// payload cannot be read as its descriptor says has Err set; an attached
// image that is malformed, holds more than MaxLayers documents or more
// than MaxTotal bytes is an *Error. A store that fails (a registry
// unreachable or refusing) fails Read with its own error.
func Read(ctx context.Context, s Store, d v1.Hash, suffix string) ([]Layer, error) {
	tag := Tag(d, suffix)
	img, err := s.Get(ctx, tag)
	if err != nil {
		return nil, classify(s, tag, -1, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, classify(s, tag, -1, err)
	}
	if len(m.Layers) > MaxLayers {
		return nil, &Error{Store: s.String(), Tag: tag, Layer: -1, Err: fmt.Errorf("%d layers, more than %d", len(m.Layers), MaxLayers)}
	}
	var total int64
	layers := make([]Layer, len(m.Layers))
	for i, desc := range m.Layers {
		if total += max(desc.Size, 0); total > MaxTotal {
			return nil, &Error{Store: s.String(), Tag: tag, Layer: -1, Err: fmt.Errorf("documents of more than %d bytes in all", MaxTotal)}
		}
		l := Layer{MediaType: desc.MediaType, Annotations: desc.Annotations, Digest: desc.Digest}
		l.Payload, err = readPayload(img, desc)
		if err != nil {
			if err = classify(s, tag, i, err); !errors.Is(err, ErrInvalid) {
				return nil, err
			}
			l.Payload, l.Err = nil, err
		}
		layers[i] = l
	}
	return layers, nil
}

// readPayload reads the blob desc names from img, exactly desc.Size bytes,
// and checks them against desc.Digest. It does not read past them: a
// registry layer checks its digest at the end of the stream, and this
// check, made here, names what was found.
func readPayload(img v1.Image, desc v1.Descriptor) ([]byte, error) {
	switch {
	case desc.Digest.Algorithm != "sha256":
		return nil, fmt.Errorf("payload %s: unsupported digest algorithm", desc.Digest)
	case desc.Size < 0 || desc.Size > MaxPayload:
		return nil, fmt.Errorf("payload %s: declared size %d out of range 0..%d", desc.Digest, desc.Size, MaxPayload)
	}
	l, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, desc.Size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("payload %s: %w", desc.Digest, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != desc.Digest.Hex {
		return nil, fmt.Errorf("payload %s altered: its content has digest sha256:%s", desc.Digest, got)
	}
	return b, nil
}

// Append adds the documents add to those attached to the image with
// digest d under suffix in s and writes the attached image back, unless
// each of them is already there (same media type, payload and
// annotations). A document already attached that cannot be read (Err) is
// an error: Append does not drop what it cannot copy.
func Append(ctx context.Context, s Store, d v1.Hash, suffix string, add ...Layer) error {
	have, err := Read(ctx, s, d, suffix)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	for _, l := range have {
		if l.Err != nil {
			return l.Err
		}
	}
	all := have
	for _, l := range add {
		if !contains(all, l) {
			all = append(all, l)
		}
	}
	if len(all) == len(have) {
		return nil
	}
	img, err := Image(all)
	if err != nil {
		return err
	}
	return s.Put(ctx, Tag(d, suffix), img)
}

func contains(ls []Layer, l Layer) bool {
	for _, h := range ls {
		if h.MediaType == l.MediaType && bytes.Equal(h.Payload, l.Payload) && maps.Equal(h.Annotations, l.Annotations) {
			return true
		}
	}
	return false
}

// Image returns the attached image holding layers, as cosign writes one:
// an OCI manifest and config, one uncompressed layer per document with
// its annotations on the layer's descriptor.
func Image(layers []Layer) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: static.NewLayer(l.Payload, l.MediaType), Annotations: l.Annotations}
	}
	return mutate.Append(base, adds...)
}

// Copy appends the documents attached to the image with digest d in from,
// under each suffix, to those attached to it in to. A suffix from has
// nothing under is skipped; a document from holds but cannot read is an
// error.
func Copy(ctx context.Context, from, to Store, d v1.Hash, suffixes ...string) error {
	for _, sfx := range suffixes {
		ls, err := Read(ctx, from, d, sfx)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		for _, l := range ls {
			if l.Err != nil {
				return l.Err
			}
		}
		if err := Append(ctx, to, d, sfx, ls...); err != nil {
			return err
		}
	}
	return nil
}
