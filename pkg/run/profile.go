package run

import (
	"bytes"
	"fmt"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Profile is a seccomp deny list: the file format of --seccomp-profile.
//
// A profile is YAML (or JSON, which is YAML):
//
//	# Calls that always fail with EPERM.
//	deny: [mount, umount2, pivot_root, chroot, ptrace]
//	# Calls that fail with EPERM when every condition of one entry holds.
//	deny_if:
//	  - syscall: mknod                     # mode has both S_IFBLK bits
//	    args:
//	      - {index: 1, op: bits_any, value: 0o040000}
//	      - {index: 1, op: bits_any, value: 0o020000}
//	# What a denied call does: "errno" (EPERM, the default) or "kill" (the
//	# process is killed with SIGSYS).
//	action: errno
//
// Every other call is allowed. Unknown keys, unknown system call names and
// unknown operators are errors. op is one of eq, ne, gt, ge, lt, le (64-bit
// unsigned comparisons), bits_any (some bit of value is set in the argument)
// and bits_none (no bit of value is set); index is the argument position,
// 0 to 5.
//
// Whatever the profile says, jailimg's filter also refuses system calls made
// through another ABI (32-bit int 0x80 and x32 on amd64), makes clone3
// fail with ENOSYS, so that C libraries fall back to clone, whose flags the
// filter can see, and makes ioctl TIOCSTI (pushing input into a terminal)
// and TIOCLINUX (pasting the console selection) fail with EPERM. Those two
// are matched on the low 32 bits of the command only, the part the kernel
// uses: setting high bits does not get past the filter (CVE-2019-10063).
type Profile struct {
	Deny   []string   `json:"deny,omitempty" yaml:"deny"`
	DenyIf []DenyRule `json:"deny_if,omitempty" yaml:"deny_if"`
	Action string     `json:"action,omitempty" yaml:"action"`
}

// DenyRule denies Syscall when all of Args hold.
type DenyRule struct {
	Syscall string    `json:"syscall" yaml:"syscall"`
	Args    []ArgRule `json:"args" yaml:"args"`
}

// ArgRule compares argument Index of a call with Value using Op.
type ArgRule struct {
	Index uint32 `json:"index" yaml:"index"`
	Op    string `json:"op" yaml:"op"`
	Value uint64 `json:"value" yaml:"value"`
}

// atEmptyPath is execveat's AT_EMPTY_PATH flag: run the file the descriptor
// names, as fexecve(3) does.
const atEmptyPath = 0x1000

// Namespace flags of clone(2) and unshare(2), denied by defaultProfile.
const cloneNamespaces = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 |
	0x10000000 | 0x20000000 | 0x40000000 | 0x00000080 // NS UTS IPC USER PID NET CGROUP TIME

// defaultProfile returns the deny list jailimg run loads by default: the
// system calls that let a process leave or reshape its jail, inspect or
// act on other processes, or reach the kernel's most exposed interfaces.
// Names the running architecture lacks (mknod on arm64) are left out.
//
// Reviewed against Docker's default profile (moby profiles/seccomp,
// io_uring denied since 2023) and systemd's @system-service set (systemd
// 252): it also denies every call that both of them deny a service
// without capabilities:
//
//   - io_uring_setup, io_uring_enter, io_uring_register: io_uring does its
//     work in the kernel's own threads, where no seccomp filter sees the
//     file and network operations it queues;
//   - kcmp, pidfd_getfd, process_madvise: they inspect or act on another
//     process (compare its kernel objects, take its descriptors, reclaim
//     its memory);
//   - listmount, statmount, open_tree_attr: the mount table and the mount
//     API (the jail's private namespace copies the host's mounts);
//   - fanotify_init, quotactl_fd, setdomainname, sethostname, vhangup:
//     administration (they need CAP_SYS_ADMIN or a tty's);
//   - obsolete or unimplemented calls: _sysctl, afs_syscall, create_module,
//     get_kernel_syms, getpmsg, putpmsg, nfsservctl, query_module,
//     security, sysfs, tuxcall, uselib, ustat, vserver.
//
// Left allowed, although one of the two denies them:
//
//   - only Docker: get_mempolicy, mbind, set_mempolicy,
//     set_mempolicy_home_node, migrate_pages, move_pages (NUMA placement
//     of the process's own memory); clone3 (this filter makes it fail with
//     ENOSYS, so that C libraries use clone, whose namespace flags it
//     sees); fchmodat2 (chmod); uretprobe (the uprobe trampoline);
//   - only systemd: fanotify_mark (useless without fanotify_init),
//     landlock_* and seccomp (a service may restrict itself further),
//     memfd_secret, mincore, modify_ldt, pkey_alloc, pkey_free,
//     pkey_mprotect, process_mrelease;
//   - newer than both reviews, and harmless to a jail: futex_wait,
//     futex_wake, futex_requeue, cachestat, mseal, map_shadow_stack,
//     getxattrat, setxattrat, listxattrat, removexattrat,
//     lsm_get_self_attr, lsm_set_self_attr, lsm_list_modules.
//
// It denies more than either: add_key, keyctl and request_key (systemd
// allows @keyring), name_to_handle_at (both allow it; the handles feed
// open_by_handle_at), adjtimex and clock_adjtime (Docker allows their
// read-only use), mknod of block devices, the namespace flags of clone and
// execveat with AT_EMPTY_PATH (both allow them), and, beside the filter,
// ioctl TIOCSTI and TIOCLINUX. execveat(fd, "", AT_EMPTY_PATH) is how a
// program written into a memfd runs: a memfd lives on no mount, so the
// noexec of the jail's writable mounts does not cover it, nor does
// Landlock. The jail has no /proc, so no /proc/self/fd path leads to it
// either; fexecve(3) of any descriptor fails with EPERM.
func defaultProfile() *Profile {
	p := &Profile{
		Deny: []string{
			"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "open_tree_attr",
			"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "listmount", "statmount",
			"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
			"kexec_load", "kexec_file_load",
			"init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms",
			"bpf", "perf_event_open", "keyctl", "add_key", "request_key",
			"unshare", "setns", "open_by_handle_at", "name_to_handle_at",
			"userfaultfd", "swapon", "swapoff", "reboot", "acct",
			"settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
			"iopl", "ioperm", "quotactl", "quotactl_fd", "lookup_dcookie", "syslog",
			"io_uring_setup", "io_uring_enter", "io_uring_register",
			"fanotify_init", "setdomainname", "sethostname", "vhangup",
			"_sysctl", "afs_syscall", "getpmsg", "putpmsg", "nfsservctl", "security", "sysfs",
			"tuxcall", "uselib", "ustat", "vserver",
		},
		DenyIf: []DenyRule{
			{Syscall: "mknod", Args: blockDevice(1)},
			{Syscall: "mknodat", Args: blockDevice(2)},
			{Syscall: "clone", Args: []ArgRule{{Index: 0, Op: "bits_any", Value: cloneNamespaces}}},
			{Syscall: "execveat", Args: []ArgRule{{Index: 4, Op: "bits_any", Value: atEmptyPath}}},
		},
	}
	p.Deny = slices.DeleteFunc(p.Deny, func(n string) bool { return !knownSyscall(n) })
	p.DenyIf = slices.DeleteFunc(p.DenyIf, func(r DenyRule) bool { return !knownSyscall(r.Syscall) })
	return p
}

// blockDevice matches a mode argument whose file type is S_IFBLK (060000):
// both of its bits set, which no other valid file type has.
func blockDevice(index uint32) []ArgRule {
	return []ArgRule{{Index: index, Op: "bits_any", Value: 0o040000}, {Index: index, Op: "bits_any", Value: 0o020000}}
}

// LoadProfile reads a Profile from a file, strictly.
func LoadProfile(name string) (*Profile, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := p.policy(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}
