// Package ocidoc checks the OCI documents of an image jailimg reads, from
// a layout (pkg/layout) or a registry (pkg/registry), in one place:
// CheckIndex and CheckManifest refuse an index or manifest that is also
// the other kind (has both "manifests" and "layers" or "config"), or whose
// mediaType field disagrees with its descriptor's media type (the
// ambiguity of CVE-2021-41190, which the image spec says to refuse); a
// manifest other than OCI or Docker schema 2, or whose config is not an
// OCI or Docker image config (an artifact); a layer of a media type other
// than OCI or Docker tar and tar+gzip and OCI tar+zstd, non-distributable
// ("foreign") layers among them, or one whose descriptor names URLs to
// fetch it from.
//
// Its errors say what is wrong, not where: the caller wraps them in a
// *layout.DocumentError naming the document.
package ocidoc
