// Package build turns a recipe into an OCI image: the `jailimg build`
// pipeline.
//
// Image first builds the jail tree: it copies the recipe's binaries with the
// ELF closure package resolve finds for them, its files, directories,
// symlinks and devices, and writes the jail's /etc/passwd, /etc/group,
// /etc/shadow, /etc/nsswitch.conf and /etc/localtime from the recipe alone,
// and the empty files jailimg run mounts on in the read-only jail (/dev/log
// for run.syslog, each of run.hostfiles), root's, mode 0444.
// It then turns that tree into a one-layer image whose bytes depend only on
// the recipe, the host files it names and the epoch: not on the working
// directory, the umask, the clock or the machine.
//
// WithInputs reports what went into the image, for its provenance: every
// file copied from the build root or the recipe's directory, with the
// sha256 of the bytes the layer got, hashed as they were copied.
//
// The build refuses (naming the path) a jail holding a setuid or setgid file,
// or anything world-writable without the sticky bit, and any two recipe
// entries that claim one path differently.
package build
