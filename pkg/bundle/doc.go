// Package bundle describes an unpacked jail on disk: the contract between
// the code that writes a jail (package unpack) and the code that reads it
// (packages run, check and verify).
//
// A bundle is a directory TARGET laid out as
//
//	TARGET/current          symlink to the live generation, e.g. "gen-3f2a…"
//	TARGET/gen-*/rootfs/    the jail tree: the directory a service is chrooted into
//	TARGET/gen-*/image.json the Meta of the image the generation was unpacked from
//	TARGET/.staging-*       work in progress; removed by the next unpack
//
// A new generation is written in full beside the live one, made durable, and
// switched to by renaming a new symlink over TARGET/current, so readers see
// either the old tree or the new one, never a mix. Readers must resolve
// TARGET/current once and then use the generation directory they found.
//
// The package guarantees nothing about the contents of the rootfs: callers
// that must not trust it (run, check) open it with their own safeguards.
package bundle
