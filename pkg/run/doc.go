// Package run starts a service in an unpacked jail without a container
// runtime, closing the gaps chroot(2) leaves open.
//
// Run re-executes the jailimg binary as the jail's init, forwards signals to
// the service and waits for it; cmd/jailimg's main calls Main first, so that
// child performs, on its main thread, locked, in this order:
//
//  0. it is forked in a new session (setsid): the service never has the
//     operator's terminal as its controlling terminal, so it cannot push
//     input into it (TIOCSTI on a terminal other than one's own needs
//     CAP_SYS_ADMIN, which it lacks), and job-control signals from that
//     terminal reach it only through Run's forwarding. With WithTTY it gets
//     a pseudo-terminal of its own instead (package pty): the slave as
//     stdin, stdout, stderr and controlling terminal, relayed by jailimg;
//  1. with --network none, brings up loopback in the fresh network namespace
//     it was cloned into;
//  2. opens the jail's rootfs once, fchdir, chroot("."), chdir("/"), before
//     anything of the jail is read; a bundle's rootfs must be the very
//     directory bundle.Open checked (fstat against Bundle.RootID), whatever
//     was renamed since;
//  3. resolves the user and groups from the jail's own /etc/passwd and
//     /etc/group (package passwd; no NSS, no C library), refusing uid 0
//     unless allowed (ErrRoot);
//  4. sets rlimits and the umask (077 by default);
//  5. with Landlock, restricts the jail to read/execute everywhere and write
//     only below the writable directories; nothing outside the jail is named,
//     so nothing outside is reachable even through a leaked descriptor;
//  6. empties the capability bounding and ambient sets, sets securebits
//     NOROOT (locked), then setgroups, setresgid, setresuid, and clears the
//     remaining capability sets, checking that no id is left at its old value;
//  7. re-arms the parent-death signal, chdirs to the workdir as the user,
//     sets no_new_privs, marks every descriptor above 2 close-on-exec;
//  8. started by Launch.StartTraced (package trace), calls PTRACE_TRACEME,
//     so that its tracer's first stop is the service's exec;
//  9. with seccomp, loads the Profile's deny list behind a fixed prefix:
//     foreign ABIs and clone3 fail with ENOSYS, ioctl TIOCSTI and TIOCLINUX
//     with EPERM (compared on the command's low 32 bits, the ones the kernel
//     reads);
//  10. execs the service with the clean environment of the image config.
//
// Prepare and Launch give package trace the same spec and sequence, so
// that what it traces is confined exactly as Run confines a service.
//
// The service keeps the init's pid, its exit status becomes Run's result
// (ExitError, ExitCode), and launcher failures carry the exit codes
// ExitLaunch, ExitCannotExec and ExitNotFound.
//
// A requested feature the kernel lacks (seccomp, Landlock, network
// namespaces) is reported through the logger and skipped, or refused with
// WithStrict; never skipped silently.
//
// What it does not do: it mounts nothing (no /proc, no /dev), makes no
// cgroup, user or PID namespace, and does not confine the network beyond
// "none". Without WithTTY, a terminal given as a standard stream is passed
// as is, for the service to read and write (it is not its controlling
// terminal; a session leader could make a terminal that is nobody's
// controlling terminal its own, which the operator's login terminal never
// is). The jail's contents are not checked here; see package check.
package run
