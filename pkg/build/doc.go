// Package build turns a recipe into an OCI image: the `jailimg build`
// pipeline.
//
// Image first builds the jail tree: it copies the recipe's binaries with the
// ELF closure package resolve finds for them, its files, directories,
// symlinks and devices, and writes the jail's /etc/passwd, /etc/group,
// /etc/shadow, /etc/nsswitch.conf and /etc/localtime from the recipe alone.
// It then turns that tree into a one-layer image whose bytes depend only on
// the recipe, the host files it names and the epoch: not on the working
// directory, the umask, the clock or the machine.
//
// The build refuses (naming the path) a jail holding a setuid or setgid file,
// or anything world-writable without the sticky bit, and any two recipe
// entries that claim one path differently.
package build
