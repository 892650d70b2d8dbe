// Package attach reads and writes the documents attached to an image in
// cosign's tag scheme: the signatures of the image whose manifest digest
// is sha256:HEX are the layers of the image tagged sha256-HEX.sig in the
// same repository, its attestations those of sha256-HEX.att. cosign,
// sigstore's policy controllers, skopeo and podman look for them there.
//
// A Store holds such images by tag: Registry, a registry repository, and
// Layout, an OCI image layout, where they sit beside the image (see
// layout.AttachedTag), so that an image signed offline carries its
// signatures to the registry when it is pushed.
//
// Read returns the documents attached to a digest. It reads every payload
// whole, refusing an image of more than MaxLayers layers or a payload
// over MaxPayload bytes before reading it, and checks each payload against
// its descriptor's digest and size: a payload altered in the store, cut
// short or missing is kept as a Layer whose Err matches ErrInvalid, so
// that a verifier can say which one and still weigh the others. A
// malformed attached image is an error matching ErrInvalid; a registry
// that fails otherwise, a *registry.Error.
//
// Append adds documents to those attached to a digest and writes the
// image back whole, as cosign does: an OCI manifest with an OCI config,
// one uncompressed layer per document, its annotations on the layer's
// descriptor. A document already there (same media type, payload and
// annotations) is not added twice. Copy appends what one store attaches
// to a digest to another's.
//
// Nothing here verifies a signature: that is package sign's job.
package attach
