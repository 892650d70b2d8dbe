// Package check audits a jail tree the way chroot hardening checklists do,
// and reports each weakness as a Finding: setuid and setgid files, file
// capabilities, world-writable files and non-sticky directories, device
// nodes outside a small safe table, shells, interpreters and compilers,
// files the service user may write outside the declared writable
// directories, /etc/passwd and /etc/shadow entries with a login shell or a
// password, hard links shared with files outside the tree, and mount points;
// with WithPolicy, each confinement the jail's run policy turns off
// (seccomp, Landlock, the private pid or IPC namespace). ForBundle turns a
// bundle's image config and policy into the audit's options (service user,
// writable directories, accepted kinds, the policy's opt-outs); an image
// cannot accept its own opt-outs, only the auditor can (WithAccept).
//
// The tree is only read: nothing is followed out of it (the walk uses
// lstat; /etc files are opened through package passwd, as the jail would
// find them, with symbolic links resolved inside the tree, and must be
// regular), and a FIFO never blocks it. What it does not see: POSIX ACLs
// (writability is judged from mode bits, owner and groups), and a tree
// changed while it is being walked.
package check
