// Package registry moves jail images to and from OCI registries, with
// go-containerregistry's remote package under jailimg's rules for
// references, HTTPS, retries and image documents.
//
// ParseReference reads a registry reference that names its registry host:
// one without ("nginx:1.22", "out/bash") is a *NoHostError, never a Docker
// Hub reference.
//
// Push sends only the blobs the registry lacks and counts the layer bytes
// it sent; a push that fails or is interrupted cancels (DELETE) the blob
// upload sessions it opened and did not complete. Pull merges an image into an OCI layout through layout.Update:
// a hard-linked copy is updated beside the layout and exchanged with it in
// one rename, so a failed pull leaves the layout exactly as it was; every
// blob is checked against its digest and size as it streams, and blobs the
// layout already held are hashed in the copy before the exchange. Pull
// does not garbage-collect blobs a layout no longer references
// (layout.GC does); WithKeepPrevious keeps the image the tag named before. Image
// reads an image where it is, and every failure reading it, its layers
// included, is an *Error.
//
// Artifact reads an image attached to another (a signature, an
// attestation) without the jail image checks, for package attach.
//
// Wherever an image is read (Image, Pull), its documents are checked
// before anything else is read or written, as layout.Image checks a
// layout's, and a foreign one is refused with a *layout.DocumentError,
// matching layout.ErrInvalid, that names the document (see package
// layout); so is an image reached through a nested index.
//
// Attach pushes an OCI 1.1 artifact (package referrer) as a referrer of
// its subject image, with the referrers tag schema for registries that
// lack the referrers API, as Debian's docker-registry does.
//
// Transient faults (connection refused, reset or cut off, 408, 429, 5xx)
// are retried as WithBackoff and WithRetryStatusCodes say, with their
// defaults unless given; others fail at once with an *Error naming the
// registry and repository.
//
// Registries are spoken to in HTTPS. Only a loopback registry (Loopback:
// 127.0.0.0/8, ::1, localhost) may answer in plain HTTP, unless
// WithInsecure allows plain HTTP to any. go-containerregistry's own rule,
// which also falls back to plain HTTP for RFC 1918 addresses and
// *.localhost names, is overridden by a guard under the transport: it
// refuses every other plain-HTTP request unsent (redirects and token
// realms included), and a registry that answered HTTPS in plain HTTP fails
// the operation with a *PlainHTTPError saying so.
package registry
