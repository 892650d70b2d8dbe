package layout

import (
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PreviousAnnotation marks, in a layout's index, the image a tag named
// before SetTagKeepPrevious pointed it at another: its value is that tag.
// The image is also tagged TAG.previous (PreviousTag), so that it can be
// read and unpacked by that name; Image with an empty tag does not count
// it, and GC keeps it.
const PreviousAnnotation = "dev.jailimg.previous"

// PreviousTag is the tag of the image tag named before its last update by
// SetTagKeepPrevious.
func PreviousTag(tag string) string { return tag + ".previous" }

// SetTagKeepPrevious is SetTag that keeps the image tag named before, when
// it was another, as tag's previous image (tagged PreviousTag(tag) and
// annotated with PreviousAnnotation): a boot cache then holds the live
// image and the one before it. The image that was previous before leaves
// the index; its blobs stay until GC.
func SetTagKeepPrevious(p ocilayout.Path, img v1.Image, tag string) error {
	idx, err := p.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	var old *v1.Descriptor
	for i, d := range im.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] == tag && d.Digest != digest {
			old = &im.Manifests[i]
		}
	}
	if err := SetTag(p, img, tag); err != nil || old == nil {
		return err
	}
	prev := *old
	prev.Annotations = maps.Clone(old.Annotations)
	prev.Annotations[ocispec.AnnotationRefName] = PreviousTag(tag)
	prev.Annotations[PreviousAnnotation] = tag
	if err := p.RemoveDescriptors(match.Annotation(PreviousAnnotation, tag)); err != nil {
		return err
	}
	return p.AppendDescriptor(prev)
}
