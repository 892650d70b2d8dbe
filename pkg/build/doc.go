// Package build turns a recipe into an OCI image: the `jailimg build`
// pipeline.
//
// Image first builds the jail tree: it copies the recipe's binaries with the
// ELF closure package resolve finds for them, its files (the ELF
// executables and shared objects among those copied from the host with
// their closure too, unless the entry says closure: false), directories,
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
// The build refuses (naming the path and the recipe line) a jail holding a
// setuid or setgid file, or anything world-writable without the sticky bit,
// any two recipe entries that claim one path differently, a missing library
// (a *resolve.MissingLibError saying where it was looked for), and a jail
// whose program (entrypoint[0], else cmd[0]) is not an executable file of
// the jail, found as jailimg run finds it (a *recipe.Error).
package build
