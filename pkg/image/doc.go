// Package image assembles jail images and moves them between OCI image
// layouts and registries.
//
// New builds a v1.Image from layers and a config written with the
// opencontainers/image-spec types: the same inputs give the same manifest
// digest. WriteLayout stores an image in an OCI image layout directory,
// atomically: the directory is either the old layout or the complete new one.
// Open reads an image named by a SOURCE string: an OCI layout directory
// ("DIR", "DIR:TAG", "oci:DIR[:TAG]") or a registry reference, which must
// name its registry host (ParseReference): a missing layout is an error,
// never a Docker Hub reference. FromLayout checks the manifest and config
// blobs against their descriptors (digest and size) and the layer blobs'
// sizes before it returns, and a malformed layout's errors name the file
// and match ErrInvalid; layer contents are left for their reader to hash.
// Every failure reading a registry SOURCE, its layers included, is a
// *RegistryError.
//
// Wherever an image is read (FromLayout, a registry SOURCE, Pull), its
// documents are checked before anything else is read or written, and
// refused with a *DocumentError, matching ErrInvalid, that names the
// document: an index or manifest that is also the other kind (has both
// "manifests" and "layers" or "config"), or whose mediaType field
// disagrees with its descriptor's media type (the ambiguity of
// CVE-2021-41190, which the image spec says to refuse); a manifest other
// than OCI or Docker schema 2, or whose config is not an OCI or Docker
// image config (an artifact); a layer of a media type other than OCI or
// Docker tar and tar+gzip and OCI tar+zstd, non-distributable ("foreign")
// layers among them, or one whose descriptor names URLs to fetch it from;
// an image reached from a registry through a nested index.
//
// Push and Pull move images through any OCI registry with
// go-containerregistry's remote package. Push sends only the blobs the
// registry lacks and counts the layer bytes it sent. Pull merges an image
// into a layout through UpdateLayout: a hard-linked copy is updated beside
// the layout and exchanged with it in one rename, so a failed pull leaves
// the layout exactly as it was; every blob is checked against its digest
// and size as it streams, and blobs the layout already held are hashed in
// the copy before the exchange. Transient faults (connection refused,
// reset or cut off, 408, 429, 5xx) are retried as Backoff says; others
// fail at once with a *RegistryError naming the registry and repository.
// Neither garbage-collects blobs a layout no longer references.
//
// Registries are spoken to in HTTPS. Only a loopback registry (Loopback:
// 127.0.0.0/8, ::1, localhost) may answer in plain HTTP, unless
// WithInsecure allows plain HTTP to any. go-containerregistry's own rule,
// which also falls back to plain HTTP for RFC 1918 addresses and
// *.localhost names, is overridden by a guard under the transport: it
// refuses every other plain-HTTP request unsent (redirects and token
// realms included), and a registry that answered HTTPS in plain HTTP fails
// the operation with a *PlainHTTPError saying so.
//
// Writers of one layout (WriteLayout, UpdateLayout, Pull), in one process or
// several, take turns: each holds an exclusive flock on DIR.lock, a file
// created beside the layout and left there, from before it reads the layout
// until its copy has replaced it, so no writer loses another's change.
// Readers (FromLayout, Open) take no lock and need none: a layout directory
// is only ever replaced whole, by one rename, so a reader reads one
// index.json; an update keeps every blob the old layout held, so what that
// index.json names stays readable; and blobs are named by their digest,
// which FromLayout checks for the manifest and config and unpack for the
// layers. A reader of an image that WriteLayout replaced (it keeps no
// other image) can find a blob gone and fail naming it; it never reads a
// mix of two images.
package image
