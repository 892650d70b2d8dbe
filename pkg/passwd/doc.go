// Package passwd reads a jail's own account files, /etc/passwd and
// /etc/group (and, for auditors, any file such as /etc/shadow), without the
// C library: jailimg is built with CGO_ENABLED=0 and must never load NSS
// modules from a jail, so users and groups are parsed here. Package run
// looks the service user up with it once chrooted, package check audits the
// accounts, and package trace and the CLI check a --user before a run.
//
// Guarantees:
//
//   - Every file is hostile: it is opened without blocking on a FIFO (an
//     Opener must use O_NONBLOCK), must be a regular file, and is read up to
//     MaxSize bytes; a malformed line is reported with its number, and NIS
//     compat entries ("+", "-") are refused.
//   - Lookup resolves "NAME|UID[:GROUP|GID]" as `jailimg run` applies it:
//     a name must exist in the jail, a numeric id need not, and the id
//     4294967295 ((uid_t)-1, "leave unchanged" to setresuid) is refused.
//   - Root.Open finds a file as a process chrooted into the tree would
//     (openat2 RESOLVE_IN_ROOT): absolute symbolic links resolve inside the
//     tree, ".." stops at its root, magic links of /proc are refused.
//
// What it does not do: it honours no nsswitch.conf (the files are the only
// source), and does not judge who owns or may write the files (package
// check does).
package passwd
