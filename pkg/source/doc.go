// Package source reads SOURCE arguments, the CLI's one way to name an
// image to read: an OCI layout directory ("DIR", "DIR:TAG",
// "oci:DIR[:TAG]") or a registry reference.
//
// Parse tells the two apart. "oci:DIR[:TAG]" is always a layout; otherwise
// an existing directory (DIR, or DIR:TAG when DIR exists) is a layout, and
// anything else must be a registry reference that names its registry host
// (registry.ParseReference): a missing layout is an *Error matching
// fs.ErrNotExist, never a Docker Hub reference.
//
// Source.Image opens the image: a layout's with layout.Image, which checks
// the manifest and config blobs against their descriptors (digest and
// size), the layer blobs' sizes and the image documents before it returns,
// its errors naming the file and matching layout.ErrInvalid; a registry's
// with registry.Image, whose every failure, its layers included, is a
// *registry.Error, and whose documents are checked as a layout's (a
// *layout.DocumentError, matching layout.ErrInvalid, inside it).
package source
