// Package run starts a service in an unpacked jail without a container
// runtime, closing the gaps chroot(2) leaves open. The confined settings
// are the defaults; each opt-out is explicit (an option, a flag, a key of
// the image's run policy that `jailimg check` reports and Run warns of,
// through its logger, unless an option decides instead).
//
// # Processes
//
//	jailimg run (the launcher, on the host, root)
//	  └─ init: jailimg again, PID 1 of new pid and IPC namespaces, in a
//	     private mount namespace (and a network one with network none)
//	       └─ service child: jailimg again → chroot, confine, exec the service
//
// The launcher stays: it forwards SIGTERM, SIGINT, SIGHUP, SIGUSR1,
// SIGUSR2, SIGQUIT and SIGWINCH (not with WithTTY, whose pty signals the
// resize itself) to the init, serves the jail's /dev/log (package
// syslog), writes and removes the pidfile, which names the init, and
// returns the service's status (ExitError, ExitCode). The init, root and
// not chrooted, holds nothing the jail can reach (no descriptor of it
// passes to the service; the service cannot trace it, under seccomp, nor
// signal it, outside its Landlock domain and, unless it runs as uid 0,
// of another uid; as PID 1 it gets only the signals it forwards): it sets up the mounts (package mounts), joins
// a new, empty session keyring (the launcher's is the admin's login
// session's, whose keys any process holding it may read), starts the
// service child, forwards the signals to it, reaps every process of
// the jail with its own wait4(-1) loop, reports how the service ended on
// its status pipe and exits; the kernel then kills whatever the service
// left in the pid namespace. The service is not PID 1 itself because PID
// 1 of a namespace ignores every signal it has no handler for (a service
// that handles none could not be stopped with SIGTERM) and must reap
// orphans, which a service does not do. With WithPID("host") the init is
// a child subreaper instead, and kills what is left when the service ends.
//
// Sessions: the init leads a session of its own without a controlling
// terminal, and the service child is no session leader, so it can never
// acquire one: it cannot push input into the operator's terminal (TIOCSTI
// on a terminal other than one's own needs CAP_SYS_ADMIN), nor be stopped
// by it. With WithTTY the service child leads a session whose controlling
// terminal is a pseudo-terminal of its own (package pty), relayed by the
// launcher. Without WithTTY the service never holds a terminal or a file
// of the host as a standard stream, whose descriptor would let it change
// the operator's terminal (line discipline, modes, flow control), read the
// keystrokes meant for the operator's shell, or rewrite a log file shared
// with earlier runs: a terminal on stdin is replaced by /dev/null, and a
// stdout or stderr that is not a pipe, a socket or /dev/null is relayed
// through a pipe the launcher copies from (one pipe when both are the same
// file, so their order is kept).
//
// # The service child's sequence
//
// cmd/jailimg's main calls Main first, so that the service child performs,
// on its main thread, locked, in this order:
//
//  1. it chroots through the descriptor of the jail's new root the init
//     passes (fchdir, chroot("."), chdir("/")), before anything of the
//     jail is read;
//  2. resolves the user and groups from the jail's own /etc/passwd and
//     /etc/group (package passwd; no NSS, no C library), refusing uid 0
//     unless allowed (ErrRoot);
//  3. sets rlimits (core 0 and nproc 4096 unless set) and the umask (077
//     by default);
//  4. with Landlock (the default), restricts itself to read/execute
//     everywhere and write only below the directories the init mounted
//     for it and WithWritable's, and from ABI 6 scopes signals and
//     abstract unix sockets to its domain; nothing outside the jail is
//     named, so nothing outside is reachable even through a leaked
//     descriptor;
//  5. empties the capability bounding and ambient sets, sets securebits
//     NOROOT (locked), then setgroups, setresgid, setresuid, and clears the
//     remaining capability sets, checking that no id is left at its old value;
//  6. re-arms the parent-death signal, chdirs to the workdir as the user,
//     sets no_new_privs, marks every descriptor above 2 close-on-exec;
//  7. started by a Launch (package trace), waits for its tracer to attach
//     (PTRACE_SEIZE) before it goes on, so that the tracer's first stop is
//     the service's exec;
//  8. with seccomp (the default), loads the Profile's deny list behind a
//     fixed prefix: foreign ABIs and clone3 fail with ENOSYS, ioctl
//     TIOCSTI and TIOCLINUX with EPERM (compared on the command's low 32
//     bits, the ones the kernel reads);
//  9. execs the service with the clean environment of the image config.
//
// Prepare and Launch give package trace the same spec, namespaces, mounts
// and sequence, so that what it traces is confined exactly as Run confines
// a service.
//
// Launcher failures carry the exit codes ExitLaunch, ExitCannotExec and
// ExitNotFound. A requested feature the kernel lacks (seccomp, Landlock or
// its scopes, network namespaces) is reported through the logger and
// skipped, or refused with WithStrict; never skipped silently. The pid,
// IPC and mount namespaces are not optional features: a kernel without
// them cannot run a jail.
//
// What it does not do: it mounts no /proc, /sys or /dev file system, makes
// no cgroup or user namespace (so nproc, counted per uid across the host,
// is what bounds a fork bomb), and does not confine the network beyond
// "none". The jail's contents are not checked here; see package check.
package run
