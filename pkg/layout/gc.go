package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// GCResult is what GC did.
type GCResult struct {
	// Images counts the images the index keeps (tagged, previous or
	// untagged), not the documents attached to them.
	Images int `json:"images"`
	// Attached counts the signatures, attestations, SBOMs and other
	// referrers kept, for kept images.
	Attached int `json:"attached"`
	// Dropped counts the referrers dropped from the index: their subject
	// is gone.
	Dropped int `json:"dropped"`
	// Blobs and Bytes count the blob files removed and their sizes.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}

// GC removes from the OCI layout at dir what no image of its index needs:
// the blobs no kept manifest or index names, and the index entries of
// documents attached to images no longer there. An entry is attached to
// the image whose manifest digest is its subject: by cosign's tag scheme
// (sha256-HEX.sig, .att, .sbom; see AttachedTag) or by the OCI 1.1
// "subject" field of its manifest. Every other entry of the index is
// kept, with everything it names (an index's manifests, a manifest's
// config and layers); so is every document attached to a kept image, or to
// a kept document, with what it names.
//
// GC works on a copy of the layout and replaces it in one rename under the
// layout's lock, as Update does: a reader sees the layout before or after,
// and a reader of an image GC removed (one the index no longer named) can
// find a blob gone. Files under blobs/ that are not named as digests are
// left alone.
func GC(ctx context.Context, dir string) (GCResult, error) {
	var res GCResult
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); err != nil {
		return res, fmt.Errorf("OCI layout %s: %w", dir, err) // Update would make one
	}
	err := Update(ctx, dir, func(p ocilayout.Path) error {
		res = GCResult{}
		return gc(p, &res)
	})
	return res, err
}

// gc collects the layout p, the staged copy of dir.
func gc(p ocilayout.Path, res *GCResult) error {
	raw, err := readFile(string(p), "index.json", maxIndexSize)
	if err != nil {
		return err
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		return invalid(string(p), "index.json", err)
	}
	m := &marker{p: p, kept: map[v1.Hash]bool{}}
	var attached []entry
	for _, d := range im.Manifests {
		e := entry{desc: d}
		if e.subject, err = m.subject(d); err != nil {
			return err
		}
		if e.subject == (v1.Hash{}) {
			res.Images++
			if err := m.mark(d, 0); err != nil {
				return err
			}
			continue
		}
		attached = append(attached, e)
	}
	dropped, err := m.markAttached(attached)
	if err != nil {
		return err
	}
	res.Attached, res.Dropped = len(attached)-len(dropped), len(dropped)
	for _, d := range dropped {
		same := func(x v1.Descriptor) bool {
			return x.Digest == d.Digest && x.Annotations[ocispec.AnnotationRefName] == d.Annotations[ocispec.AnnotationRefName]
		}
		if err := p.RemoveDescriptors(same); err != nil {
			return err
		}
	}
	return m.sweep(res)
}

// entry is an index entry attached to the image subject (zero for an image).
type entry struct {
	desc    v1.Descriptor
	subject v1.Hash
}

// marker marks the blobs the kept entries of a layout need.
type marker struct {
	p    ocilayout.Path
	kept map[v1.Hash]bool
}

// maxDepth bounds the nesting of indexes GC follows.
const maxDepth = 8

// mark keeps d and, for a manifest or an index, what it names.
func (m *marker) mark(d v1.Descriptor, depth int) error {
	if m.kept[d.Digest] {
		return nil
	}
	m.kept[d.Digest] = true
	if !d.MediaType.IsImage() && !d.MediaType.IsIndex() && !strings.HasSuffix(string(d.MediaType), "manifest.v1+json") {
		return nil
	}
	if depth > maxDepth {
		return fmt.Errorf("OCI layout %s: indexes nested more than %d deep", m.p, maxDepth)
	}
	doc, err := m.doc(d)
	if doc == nil || err != nil {
		return err
	}
	for _, c := range doc.children() {
		if err := m.mark(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// markAttached keeps the attached entries whose subject is kept, until no
// more are, and returns the others.
func (m *marker) markAttached(attached []entry) ([]v1.Descriptor, error) {
	for changed := true; changed; {
		changed = false
		rest := attached[:0]
		for _, e := range attached {
			if !m.kept[e.subject] {
				rest = append(rest, e)
				continue
			}
			if err := m.mark(e.desc, 0); err != nil {
				return nil, err
			}
			changed = true
		}
		attached = rest
	}
	dropped := make([]v1.Descriptor, len(attached))
	for i, e := range attached {
		dropped[i] = e.desc
	}
	return dropped, nil
}

// document is what GC reads of a manifest or an index: what it names.
type document struct {
	Config    *v1.Descriptor  `json:"config"`
	Layers    []v1.Descriptor `json:"layers"`
	Manifests []v1.Descriptor `json:"manifests"`
	Blobs     []v1.Descriptor `json:"blobs"` // the OCI artifact manifest of image-spec 1.1-rc
	Subject   *v1.Descriptor  `json:"subject"`
}

func (d *document) children() []v1.Descriptor {
	out := append(append(append([]v1.Descriptor{}, d.Layers...), d.Manifests...), d.Blobs...)
	if d.Config != nil {
		out = append(out, *d.Config)
	}
	return out
}

// doc reads the manifest or index d; a blob the layout lacks is nil.
func (m *marker) doc(d v1.Descriptor) (*document, error) {
	raw, err := readFile(string(m.p), blobName(d.Digest), maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // GC keeps what is named; it does not check it is there
	}
	if err != nil {
		return nil, err
	}
	var doc document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, invalid(string(m.p), blobName(d.Digest), err)
	}
	return &doc, nil
}

// subject returns the digest of the image the index entry d is attached
// to, by its tag (cosign's scheme) or its manifest's subject (OCI 1.1);
// zero for an entry attached to nothing.
func (m *marker) subject(d v1.Descriptor) (v1.Hash, error) {
	if t := d.Annotations[ocispec.AnnotationRefName]; AttachedTag(t) {
		hex, _, _ := strings.Cut(strings.TrimPrefix(t, "sha256-"), ".")
		return v1.Hash{Algorithm: "sha256", Hex: hex}, nil
	}
	if !d.MediaType.IsImage() && !strings.HasSuffix(string(d.MediaType), "manifest.v1+json") {
		return v1.Hash{}, nil
	}
	doc, err := m.doc(d)
	if doc == nil || doc.Subject == nil || err != nil {
		return v1.Hash{}, err
	}
	return doc.Subject.Digest, nil
}

// sweep removes the blob files no kept entry needs.
func (m *marker) sweep(res *GCResult) error {
	root := filepath.Join(string(m.p), "blobs")
	algs, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a layout that never held a blob
	}
	if err != nil {
		return err
	}
	for _, a := range algs {
		if !a.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, a.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			h, err := v1.NewHash(a.Name() + ":" + f.Name())
			if err != nil || m.kept[h] || !f.Type().IsRegular() {
				continue // not a blob's name, or needed
			}
			fi, err := f.Info()
			if err != nil {
				return err
			}
			if err := os.Remove(filepath.Join(root, a.Name(), f.Name())); err != nil {
				return err
			}
			res.Blobs++
			res.Bytes += fi.Size()
		}
	}
	return nil
}
