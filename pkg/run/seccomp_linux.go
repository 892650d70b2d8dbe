package run

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

var profileOps = map[string]seccomp.Operation{
	"eq": seccomp.Equal, "ne": seccomp.NotEqual,
	"gt": seccomp.GreaterThan, "ge": seccomp.GreaterOrEqual,
	"lt": seccomp.LessThan, "le": seccomp.LessOrEqual,
	"bits_any": seccomp.BitsSet, "bits_none": seccomp.BitsNotSet,
}

// knownSyscall reports whether the running architecture has the call.
func knownSyscall(name string) bool {
	info, err := arch.GetInfo("")
	if err != nil {
		return false
	}
	_, ok := info.SyscallNames[name]
	return ok
}

// policy turns the profile into a go-seccomp-bpf Policy, checking every name
// and operator.
func (p *Profile) policy() (*seccomp.Policy, error) {
	action := seccomp.ActionErrno
	switch p.Action {
	case "", "errno":
	case "kill":
		action = seccomp.ActionKillProcess
	default:
		return nil, fmt.Errorf("action %q: want errno or kill", p.Action)
	}
	g := seccomp.SyscallGroup{Names: p.Deny, Action: action}
	for i, r := range p.DenyIf {
		if len(r.Args) == 0 || len(r.Args) > 6 {
			return nil, fmt.Errorf("deny_if[%d] %s: want 1 to 6 args", i, r.Syscall)
		}
		nc := seccomp.NameWithConditions{Name: r.Syscall}
		for _, a := range r.Args {
			op, ok := profileOps[a.Op]
			if !ok {
				return nil, fmt.Errorf("deny_if[%d] %s: op %q: unknown", i, r.Syscall, a.Op)
			}
			if a.Index > 5 {
				return nil, fmt.Errorf("deny_if[%d] %s: index %d: want 0 to 5", i, r.Syscall, a.Index)
			}
			nc.Conditions = append(nc.Conditions, seccomp.Condition{Argument: a.Index, Operation: op, Value: a.Value})
		}
		g.NamesWithCondtions = append(g.NamesWithCondtions, nc)
	}
	pol := &seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: []seccomp.SyscallGroup{g}}
	if _, err := pol.Assemble(); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return pol, nil
}

// program assembles the profile behind jailimg's fixed prefix: calls from a
// foreign ABI fail with ENOSYS (a deny list must not be bypassed through
// int 0x80), and so does clone3, whose flags live in memory the filter
// cannot read; ioctl TIOCSTI and TIOCLINUX fail with EPERM (ttyIoctls).
func (p *Profile) program() ([]unix.SockFilter, error) {
	pol, err := p.policy()
	if err != nil {
		return nil, err
	}
	body, err := pol.Assemble()
	if err != nil {
		return nil, err
	}
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	enosys := uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offsetArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: enosys},
	}
	if nr, ok := info.SyscallNames["clone3"]; ok {
		prog = append(prog,
			bpf.LoadAbsolute{Off: offsetNr, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: 1},
			bpf.RetConstant{Val: enosys},
		)
	}
	prog = append(prog, ttyIoctls(info)...)
	raw, err := bpf.Assemble(append(prog, body...))
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// Offsets in struct seccomp_data, and the audit architecture bit of a
// little-endian ABI.
const (
	offsetNr    = 0
	offsetArch  = 4
	offsetArgs  = 16 // u64 args[6], in the ABI's byte order
	auditArchLE = 0x40000000
)

// ttyIoctls denies ioctl TIOCSTI (push bytes into a terminal's input: a
// jailed service typing commands into the operator's shell) and TIOCLINUX
// (whose subcodes paste the console selection as input) with EPERM,
// whatever the profile says. The kernel truncates ioctl's command to an
// unsigned int, so the filter compares only the low 32 bits of args[1]: a
// 64-bit compare is bypassed by a command with high bits set
// (CVE-2019-10063). The low word is at the argument's offset on a
// little-endian ABI and 4 bytes after it on a big-endian one.
func ttyIoctls(info *arch.Info) []bpf.Instruction {
	nr, ok := info.SyscallNames["ioctl"]
	if !ok {
		return nil
	}
	low := uint32(offsetArgs + 8*1)
	if info.ID&auditArchLE == 0 {
		low += 4
	}
	eperm := uint32(seccomp.ActionErrno) | uint32(unix.EPERM)
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: offsetNr, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: 4},
		bpf.LoadAbsolute{Off: low, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.TIOCSTI, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.TIOCLINUX, SkipFalse: 1},
		bpf.RetConstant{Val: eperm},
	}
}

// errSeccompUnsupported marks a kernel without seccomp filters.
var errSeccompUnsupported = errors.New("seccomp: the kernel does not support seccomp filters")

// loadSeccomp installs the profile on the calling thread, which must have
// no_new_privs set; the filter passes to the program it executes.
func loadSeccomp(p *Profile) error {
	prog, err := p.program()
	if err != nil {
		return err
	}
	if !seccomp.Supported() {
		return errSeccompUnsupported
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		if e == syscall.ENOSYS || e == syscall.EINVAL {
			return fmt.Errorf("%w: %v", errSeccompUnsupported, e)
		}
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
