// Package image assembles jail images and moves them between OCI image
// layouts and registries.
//
// New builds a v1.Image from layers and a config written with the
// opencontainers/image-spec types: the same inputs give the same manifest
// digest. WriteLayout stores an image in an OCI image layout directory,
// atomically: the directory is either the old layout or the complete new one.
// Open reads an image named by a SOURCE string: an OCI layout directory
// ("DIR", "DIR:TAG", "oci:DIR[:TAG]") or a registry reference.
package image
