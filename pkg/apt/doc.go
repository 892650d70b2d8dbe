// Package apt reads the Debian archives apt is configured with, the way a
// build from pinned packages needs them: what is offered, at which version,
// signed by whom, and where the .deb files are.
//
// Load asks apt which package indexes it holds (apt-get indextargets: the
// sources, suites, components and architectures apt is configured with),
// then checks each one along the signature chain before reading it: the
// suite's InRelease, as apt last fetched it, must carry a good OpenPGP
// signature by a key of the keyring its sources entry names (Signed-By,
// else apt's trusted keyrings); the index file (kept lz4-, gzip-, xz- or
// zstd-compressed, or not at all) must, once decompressed, have the size
// and SHA256 the signed Release text gives for it. Only then are its
// packages read, with their version, dependencies, size and SHA256. Load
// runs apt-get only to learn the index targets and reads no network: run
// apt-get update first for current indexes.
//
// Resolve computes the closure of requested packages (NAME, or NAME=VERSION
// to pin one) over their Depends and Pre-Depends for one architecture:
// every dependency is met by one version of one package, the newest that
// all constraints on it allow, so pinning nginx-light=V also pins the
// nginx and nginx-common that nginx-light's exact-version dependencies
// demand (apt's resolver would pick the newest nginx and give up). A
// dependency on a virtual package is met by a provider already chosen, else
// by the provider of highest Priority. Recommends and Suggests are not
// followed. An unsatisfiable dependency is an error naming the package, the
// dependency and the versions offered.
//
// Download fetches .deb files with apt-get download (apt checks each
// against the index it came from); the caller checks them against its
// lock. Newest tells, for a package name, the newest version the sources
// offer and whether a security suite offers it.
package apt
