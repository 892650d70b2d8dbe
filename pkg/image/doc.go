// Package image assembles jail images and reads the images a SOURCE names.
//
// New builds a v1.Image from layers and a config written with the
// opencontainers/image-spec types: the same inputs give the same manifest
// digest. Files lists what an image holds.
//
// Open reads an image named by a SOURCE string: an OCI layout directory
// ("DIR", "DIR:TAG", "oci:DIR[:TAG]"), read by layout.Image, or a registry
// reference, read by registry.Image, which must name its registry host
// (registry.ParseReference): a missing layout is an error, never a Docker
// Hub reference.
package image
