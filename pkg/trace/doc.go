// Package trace runs a command under ptrace and records the paths it and
// every process and thread it starts use, then turns that record into a
// recipe fragment, or into a diagnosis of what a jailed command missed: the
// strace step of building a jail, made a tool.
//
// # What it records
//
// Run uses golang.org/x/sys/unix only (no strace binary). It starts the
// command from its own locked thread with PTRACE_TRACEME, in a new session
// without a controlling terminal: on the host as jailimg's own user (or,
// with WithUser, as a host user with the groups package run would give
// it); in a jail (WithRoot) through package run's init (run.Prepare and
// Launch.StartTraced), so that the command is confined exactly as `jailimg
// run` confines a service (chroot, the jail's user and groups, rlimits,
// umask, Landlock and seccomp as the policy asks, no capability,
// no_new_privs, no inherited descriptor, uid 0 refused unless
// WithAllowRoot), the init calling PTRACE_TRACEME last, right before
// seccomp and the exec. The trace begins at the command's exec. It follows
// fork, vfork, clone and exec
// (PTRACE_O_TRACEFORK|TRACEVFORK|TRACECLONE|TRACEEXEC; EXITKILL so that no
// tracee outlives jailimg) and stops every tracee at each system call entry
// and exit. At entry it reads the path argument from tracee memory (at most
// PATH_MAX bytes) and makes it absolute: relative to the caller's working
// directory (/proc/PID/cwd) or to the directory its dirfd names
// (/proc/PID/fd/N), both read at the time of the call; at exit it reads the
// return value. Recorded calls:
//
//   - open, openat, openat2, creat (Write for O_WRONLY, O_RDWR, O_CREAT,
//     O_TRUNC, O_APPEND; Directory for O_DIRECTORY)
//   - execve, execveat (fexecve through the descriptor's path)
//   - stat, lstat, newfstatat, statx (not fstat: no path)
//   - access, faccessat, faccessat2
//   - readlink, readlinkat
//   - mkdir, mkdirat, chdir
//
// When Run's context is done (an interrupt, a deadline: a daemon does not
// exit on its own), the command is stopped as a service manager stops one,
// SIGTERM to every tracee and SIGKILL to those left StopTimeout later, and
// Run returns what was recorded until then (Result.Stopped).
//
// Successes go to Result.Accessed, opens and execs failing with ENOENT or
// ENOTDIR to Result.Missing, everything else to Result.Failed. Paths are
// cleaned lexically ("a/../b" is "b" even when a is a symlink). With
// WithRoot the command is chrooted and paths are recorded as it sees them
// (Result.Root is its root as the kernel names it, /proc/PID/root).
//
// Limits: linux/amd64 only (ErrUnsupported elsewhere); 32-bit (int $0x80)
// system calls are not decoded; io_uring opens are not seen; a group-stop
// (SIGSTOP sent to a tracee) is resumed rather than kept; Run waits for any
// child of the calling process (wait4(-1)), so it must not run beside other
// children of the caller.
//
// # What the fragment keeps (the filtering rule)
//
// NewFragment, over the file system the command ran in, resolving each path
// there with chroot semantics (resolve.Resolver.Walk):
//
//   - drops /proc, /sys and /dev, but reports device nodes opened directly
//     under /dev as Devices (the safe-table ones by name);
//   - drops the host loader's state: /etc/ld.so.cache, /etc/ld.so.preload,
//     /etc/ld.so.conf, /etc/ld.so.conf.d/*, and any glibc-hwcaps path;
//   - drops every file and symlink of the ELF closure (package resolve) of
//     the programs executed, and of the shared objects opened on top of it;
//     a shared object opened that the closure of the programs does not
//     explain is a dlopen()ed library: Libraries;
//   - never copies what the command wrote (opened for writing, or created
//     with mkdir): the directory it wrote into, or made, becomes a Dirs
//     entry marked Written, and later reads of a written file are its own;
//   - never copies /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow,
//     /etc/nsswitch.conf, /etc/localtime and /etc/timezone, which the build
//     writes from users:, groups:, nss: and timezone:: they are listed in
//     Generated with the key to declare;
//   - keeps locale files (locale-archive, message catalogs) when they were
//     opened: the command really used them under the environment it ran
//     with, so trace with the environment the jail will have (LANG=C);
//   - keeps every other regular file read, stat'ed or accessed (Files), by
//     its real path, with the symlinks met on the way (Symlinks); and the
//     directories opened, listed or entered that no other entry lies below
//     (Dirs);
//   - but never copies to its host path what lies outside the system
//     directories (/usr but /usr/local, /etc, /bin, /sbin, /lib*, /var/lib):
//     a configuration named on the command line, a file under /home, /root,
//     /srv, /opt, /tmp or /usr/local is listed in HostSpecific for the user
//     to map where the jail should have it;
//   - lists in Missing the opens and execs that found nothing, without the
//     search-path probing of the loader, dlopen and the shell (a
//     shared-object or program name that was found elsewhere) and without
//     paths found later; a shared object found nowhere is one
//     MissingLibraries entry, with the object whose DT_NEEDED names it.
//
// WriteYAML writes the fragment with the recipe's own keys (binaries,
// libraries, files, symlinks, dirs, devices) and the rest as comments, sorted
// and deterministic. A recipe uses it through its include: key (the recipe's
// own entry for a path wins over the fragment's), or it is pasted in.
//
// # Diagnosis
//
// Result.Diagnose lists what a command tried and could not get: the
// misses as above; the shared objects found nowhere, each attributed by
// package resolve, over the jail's files, to the object that needed it (an
// interpreter's extension module: "libsqlite3.so.0, needed by
// .../lib-dynload/_sqlite3....so"), not as the loader's probes one by one;
// then opens and execs refused with EACCES or EPERM. Run with WithRoot and
// WithUser on an unpacked jail, it answers "httpd: bad user name nobody"
// with "missing: /etc/passwd (open by /usr/sbin/httpd)".
package trace
