// Package layout reads and writes OCI image layouts on disk.
//
// Image reads the image a layout holds, by tag. Before it returns, it
// checks the manifest and config blobs against their descriptors (digest
// and size) and the layer blobs' sizes, and a malformed layout's errors
// name the file and match ErrInvalid; layer contents are left for their
// reader to hash. The layout's index and manifest are checked before
// anything else is read (see DocumentError): an index or manifest that is
// also the other kind (has both "manifests" and "layers" or "config"), or
// whose mediaType field disagrees with its descriptor's media type (the
// ambiguity of CVE-2021-41190, which the image spec says to refuse); a
// manifest other than OCI or Docker schema 2, or whose config is not an
// OCI or Docker image config (an artifact); a layer of a media type other
// than OCI or Docker tar and tar+gzip and OCI tar+zstd, non-distributable
// ("foreign") layers among them, or one whose descriptor names URLs to
// fetch it from. The same checks refuse such documents from a registry
// (package registry), with a *DocumentError that also matches ErrInvalid.
//
// A layout may also hold what is attached to its image, in two forms:
// images in cosign's tag scheme (AttachedTag: sha256-HEX.sig for
// signatures, .att for attestations), which jailimg sign and build write
// and push sends with the image, read by Artifact; and OCI 1.1 artifacts
// whose subject is the image (an SBOM: package referrer makes them),
// listed in index.json by their descriptor with its artifactType and
// without a tag, as oras stores referrers in a layout, which Write stores
// with the image (WithReferrer), Referrers lists and Referrer reads.
// Image with an empty tag counts neither; Artifact and Referrer make the
// digest and size checks but not the jail image's.
//
// Write stores an image in a layout, atomically: the directory is either
// the old layout or the complete new one. Update changes a layout through
// a function, atomically: a hard-linked copy is updated beside the layout
// and exchanged with it in one rename, so a failed update leaves the layout
// exactly as it was. Only an OCI layout or an empty directory is ever
// replaced. Blobs, VerifyImage and CheckStaged are what a pull into a
// layout (registry.Pull) needs inside Update: blobs the layout already
// held, which the layout writer skips unread, are hashed in the copy
// before the exchange. Neither Write nor Update garbage-collects blobs a
// layout no longer references: GC does, keeping every image of the index
// and the documents attached to them (cosign's tag scheme, OCI 1.1
// subjects), dropping the documents of images no longer there, in a copy
// swapped in as Update does. SetTagKeepPrevious moves a tag and keeps the
// image it named as TAG.previous (PreviousAnnotation), one generation
// deep: with GC, a boot cache holds the live image and the one before it.
//
// Writers of one layout (Write, Update, GC, and so registry.Pull), in one
// process or several, take turns: each holds an exclusive flock on
// DIR.lock, a file created beside the layout and left there, from before it
// reads the layout until its copy has replaced it, so no writer loses
// another's change. Readers (Image) take no lock and need none: a layout
// directory is only ever replaced whole, by one rename, so a reader reads
// one index.json; an update keeps every blob the old layout held, so what
// that index.json names stays readable; and blobs are named by their
// digest, which Image checks for the manifest and config and unpack for
// the layers. A reader of an image that Write replaced (it keeps no other
// image), or that GC removed (the index no longer named it), can find a
// blob gone and fail naming it; it never reads a mix of two images.
package layout
