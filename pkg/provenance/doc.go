// Package provenance writes the SLSA provenance of a jail image: an
// in-toto statement (https://in-toto.io/Statement/v1) whose subject is the
// image's manifest digest and whose predicate is SLSA provenance v1
// (https://slsa.dev/provenance/v1), as `cosign verify-attestation --type
// slsaprovenance1` reads it.
//
// Its buildDefinition says what went into the image: the recipe, by its
// sha256, and the settings that change the output (epoch, compression,
// build root) as external parameters; the files the build copied, each
// with the sha256 of the bytes that went into the layer, as resolved
// dependencies (and, when a recipe builds from packages, their lock's
// packages). Its runDetails name jailimg as the builder, with its version.
// Files are named by file:// URIs of their absolute paths on the build
// machine. The statement holds no time: the same build in the same
// directories gives the same bytes.
//
// It is data only: package sign signs and attaches it.
package provenance
