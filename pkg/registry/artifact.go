package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Artifact returns the image ref names as Image does, with opts, but
// without the checks that make it a jail image: an image attached to
// another (a signature, an attestation), whose layers are not tar. Every
// failure to read it, its layers included, is an *Error; a manifest the
// registry does not have is one matching NotFound. Layer contents are
// verified against their digest as they are read to the end.
func Artifact(ctx context.Context, ref name.Reference, opts ...Option) (v1.Image, error) {
	o := makeOptions(opts)
	g := o.guard()
	img, err := remote.Image(insecureRef(ref, o.insecure), o.remote(ctx, g)...)
	if err != nil {
		return nil, &Error{Op: "pull", Ref: ref, Err: g.explain(err)}
	}
	return &registryImage{Image: img, ref: ref}, nil
}

// NotFound reports whether err is a registry's answer that what was asked
// for is not there: HTTP 404 (MANIFEST_UNKNOWN, BLOB_UNKNOWN,
// NAME_UNKNOWN).
func NotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
