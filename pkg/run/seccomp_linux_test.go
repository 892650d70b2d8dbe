package run

import (
	"encoding/binary"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData lays out struct seccomp_data as the kernel does for this
// architecture, then byte-swaps each 32-bit word into the big-endian order
// in which x/net/bpf's VM loads words, so that every load the filter makes
// sees the value the kernel's would.
func seccompData(nr int, auditArch uint32, args [6]uint64) []byte {
	b := make([]byte, 64)
	binary.NativeEndian.PutUint32(b[0:], uint32(nr))
	binary.NativeEndian.PutUint32(b[4:], auditArch)
	for i, a := range args {
		binary.NativeEndian.PutUint64(b[16+8*i:], a)
	}
	for i := 0; i < len(b); i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.NativeEndian.Uint32(b[i:]))
	}
	return b
}

// TestTTYIoctlsDenied runs jailimg's filter in a BPF interpreter: ioctl
// TIOCSTI and TIOCLINUX fail with EPERM whatever the profile says, also
// with high bits set in the command, which the kernel ignores
// (CVE-2019-10063); other ioctls, and the same numbers in other arguments
// or other calls, pass.
func TestTTYIoctlsDenied(t *testing.T) {
	info, err := arch.GetInfo("")
	if err != nil {
		t.Fatal(err)
	}
	ioctl, write := info.SyscallNames["ioctl"], info.SyscallNames["write"]
	eperm := int(uint32(seccomp.ActionErrno) | uint32(unix.EPERM))
	allow := int(uint32(seccomp.ActionAllow))
	tests := []struct {
		name string
		nr   int
		args [6]uint64
		want int
	}{
		{"TIOCSTI", ioctl, [6]uint64{0, unix.TIOCSTI}, eperm},
		{"TIOCSTI with bit 32 set", ioctl, [6]uint64{0, unix.TIOCSTI | 1<<32}, eperm},
		{"TIOCSTI with every high bit set", ioctl, [6]uint64{0, unix.TIOCSTI | 0xffffffff00000000}, eperm},
		{"TIOCLINUX", ioctl, [6]uint64{0, unix.TIOCLINUX}, eperm},
		{"TIOCLINUX with high bits set", ioctl, [6]uint64{7, unix.TIOCLINUX | 0x8000000100000000}, eperm},
		{"TCGETS passes", ioctl, [6]uint64{0, unix.TCGETS}, allow},
		{"TIOCSTI as the fd passes", ioctl, [6]uint64{unix.TIOCSTI, unix.TCGETS}, allow},
		{"TIOCSTI in the argument passes", ioctl, [6]uint64{0, unix.TIOCINQ, unix.TIOCSTI}, allow},
		{"write with TIOCSTI's number passes", write, [6]uint64{1, unix.TIOCSTI, 1}, allow},
	}
	for _, p := range []struct {
		name    string
		profile *Profile
	}{{"default profile", defaultProfile()}, {"empty profile", &Profile{}}, {"kill profile", &Profile{Deny: []string{"mount"}, Action: "kill"}}} {
		prog, err := p.profile.program()
		if err != nil {
			t.Fatal(err)
		}
		insns := make([]bpf.Instruction, len(prog))
		for i, f := range prog {
			insns[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}.Disassemble()
		}
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				got, err := vm.Run(seccompData(tt.nr, uint32(info.ID), tt.args))
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("filter returned %#x, want %#x", got, tt.want)
				}
			})
		}
	}
}
