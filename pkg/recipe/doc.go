// Package recipe reads jail recipes: the YAML files that declare what a jail
// holds (binaries, libraries, files, devices, users) and how its image is
// configured.
//
// Decoding is strict: an unknown key, a wrong type or a duplicate key is an
// error that names the file, the line and the key path, e.g.
//
//	recipes/nginx.yaml:12: files[2].mode: "0x9" is not an octal mode
//
// Load also runs Validate, which checks what the YAML grammar cannot: paths are
// absolute and clean, relative sources stay inside the recipe's directory,
// devices come from the safe table (null, zero, full, random, urandom, tty)
// or are spelled out, owners name known users. The package reads nothing but
// the recipe file itself and the fragments it includes, each of at most 1 MiB;
// whether host files exist is for the build to find out.
//
// Load records, in Documents, the files it read (the recipe and its
// include: fragments) with the sha256 of their bytes, which a build's
// provenance names.
package recipe
