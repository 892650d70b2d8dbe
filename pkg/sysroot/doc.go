// Package sysroot turns a recipe's lock into a root file system to build a
// jail from: the locked Debian packages, fetched into a cache, checked
// against the lock and extracted into a private directory without
// installing anything.
//
// A Cache is a directory (default /var/cache/jailimg/debs, created 0700)
// holding debs/SHA256.deb, each .deb under the SHA256 the lock gives it,
// and roots/KEY, the extracted roots, KEY being a digest of the locked
// .deb digests: the same lock always finds the same root, and a lock that
// changes one package gets a new one.
//
// Fetch makes sure every locked .deb is in the cache. Missing ones are
// downloaded through apt (apt-get download, which checks each against its
// signed index) unless offline, when a missing .deb is an error naming the
// packages; every file apt fetched is stored under its SHA256 only if that
// is the digest the lock gives its package.
//
// Root checks every locked .deb in the cache against the lock's SHA256 and
// size on every call, cached root or not: a .deb whose bytes differ is
// refused with a *MismatchError naming the package, and nothing is
// extracted or built. A root not yet cached is extracted (package deb: no
// maintainer script runs, no device is made, setuid bits are dropped, a
// path shipped by two packages is an error naming both) into a staging
// directory beside the cached roots and renamed into place when complete,
// so an interrupted extraction leaves no root behind; roots are never
// changed afterwards. Root runs nothing outside jailimg: with Fetch
// skipped (offline), a build from a warm cache needs neither apt nor the
// network.
//
// A Root knows which package ships each of its files, the control
// paragraph of each package and which packages the lock was made for
// (Declared): what build records in the jail's /var/lib/dpkg/status.d and
// the SBOM records per file.
package sysroot
