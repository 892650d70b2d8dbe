// Package image assembles jail images and moves them between registries
// and OCI image layouts (package layout).
//
// New builds a v1.Image from layers and a config written with the
// opencontainers/image-spec types: the same inputs give the same manifest
// digest. Files lists what an image holds.
// Open reads an image named by a SOURCE string: an OCI layout directory
// ("DIR", "DIR:TAG", "oci:DIR[:TAG]"), read by layout.Image, or a registry
// reference, which must name its registry host (ParseReference): a missing
// layout is an error, never a Docker Hub reference. Every failure reading a
// registry SOURCE, its layers included, is a *RegistryError.
//
// Wherever an image is read from a registry (a registry SOURCE, Pull), its
// documents are checked before anything else is read or written, as
// layout.Image checks a layout's, and refused with a *layout.DocumentError,
// matching layout.ErrInvalid, that names the document; so is an image
// reached from a registry through a nested index.
//
// Push and Pull move images through any OCI registry with
// go-containerregistry's remote package. Push sends only the blobs the
// registry lacks and counts the layer bytes it sent. Pull merges an image
// into a layout through layout.Update: a hard-linked copy is updated beside
// the layout and exchanged with it in one rename, so a failed pull leaves
// the layout exactly as it was; every blob is checked against its digest
// and size as it streams, and blobs the layout already held are hashed in
// the copy before the exchange. Transient faults (connection refused,
// reset or cut off, 408, 429, 5xx) are retried as Backoff says; others
// fail at once with a *RegistryError naming the registry and repository.
// Pull does not garbage-collect blobs a layout no longer references.
//
// Registries are spoken to in HTTPS. Only a loopback registry (Loopback:
// 127.0.0.0/8, ::1, localhost) may answer in plain HTTP, unless
// WithInsecure allows plain HTTP to any. go-containerregistry's own rule,
// which also falls back to plain HTTP for RFC 1918 addresses and
// *.localhost names, is overridden by a guard under the transport: it
// refuses every other plain-HTTP request unsent (redirects and token
// realms included), and a registry that answered HTTPS in plain HTTP fails
// the operation with a *PlainHTTPError saying so.
package image
