// Package image is a jail image as a v1.Image: New assembles one from
// layers and a config, and Files lists what an image holds.
//
// New builds a v1.Image from layers and a config written with the
// opencontainers/image-spec types: the same inputs give the same manifest
// digest. Files lists an image's merged file system (layers applied in
// order, OCI whiteouts honoured, sorted by path, at most MaxListEntries
// entries); it only reads, and extracting an untrusted image safely is
// package unpack's job.
//
// Where images live is for other packages: OCI layouts on disk (package
// layout), registries (package registry), and the SOURCE arguments that
// name either (package source).
package image
