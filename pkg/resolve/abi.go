package resolve

import (
	"debug/elf"
	"runtime"
	"slices"

	"golang.org/x/sys/cpu"
)

// abi is the kind of process the loader works for, taken from the main
// object: it fixes which candidates are compatible, the system directories
// and the values of $LIB and $PLATFORM.
type abi struct {
	class    elf.Class
	data     elf.Data
	machine  elf.Machine
	lib      string   // $LIB, without leading slash
	platform string   // $PLATFORM (AT_PLATFORM), "" if unknown
	sysDirs  []string // system search path, in order
	hwcaps   []string // active glibc-hwcaps subdirectories, best first
}

type abiKey struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
}

// multiarch returns Debian's multiarch triplet for the ABI, or "".
func multiarch(k abiKey) string {
	is64 := k.class == elf.ELFCLASS64
	switch {
	case k.machine == elf.EM_X86_64 && is64:
		return "x86_64-linux-gnu"
	case k.machine == elf.EM_X86_64:
		return "x86_64-linux-gnux32"
	case k.machine == elf.EM_386:
		return "i386-linux-gnu"
	case k.machine == elf.EM_AARCH64:
		return "aarch64-linux-gnu"
	case k.machine == elf.EM_ARM:
		return "arm-linux-gnueabihf"
	case k.machine == elf.EM_PPC64 && k.data == elf.ELFDATA2LSB:
		return "powerpc64le-linux-gnu"
	case k.machine == elf.EM_S390 && is64:
		return "s390x-linux-gnu"
	case k.machine == elf.EM_RISCV && is64:
		return "riscv64-linux-gnu"
	}
	return ""
}

func platform(k abiKey) string {
	switch k.machine {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_386:
		return "i686"
	case elf.EM_AARCH64:
		return "aarch64"
	}
	return ""
}

// abiFor returns the (cached) ABI of processes whose main object is o.
// A Debian multiarch layout is used when /usr/lib/TRIPLET exists in the root,
// otherwise the lib64 (64-bit) or lib (32-bit) layout.
func (r *Resolver) abiFor(o *object) *abi {
	return r.abiForKey(abiKey{o.class, o.data, o.machine})
}

func (r *Resolver) abiForKey(k abiKey) *abi {
	r.mu.Lock()
	a := r.abis[k]
	r.mu.Unlock()
	if a != nil {
		return a
	}
	a = &abi{class: k.class, data: k.data, machine: k.machine, platform: platform(k)}
	t := multiarch(k)
	if w := r.walk("/usr/lib/" + t); t != "" && w.err == nil && w.mode.IsDir() {
		a.lib = "lib/" + t
		a.sysDirs = []string{"/lib/" + t, "/usr/lib/" + t, "/lib", "/usr/lib"}
	} else if k.class == elf.ELFCLASS64 {
		a.lib = "lib64"
		a.sysDirs = []string{"/lib64", "/usr/lib64"}
	} else {
		a.lib = "lib"
		a.sysDirs = []string{"/lib", "/usr/lib"}
	}
	switch {
	case r.opts.hwcapOK:
		a.hwcaps = r.opts.hwcaps
	case k.machine == elf.EM_X86_64 && k.class == elf.ELFCLASS64 && runtime.GOARCH == "amd64":
		a.hwcaps = x86Levels()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.abis[k]; old != nil {
		return old // computed concurrently: the same value
	}
	r.abis[k] = a
	return a
}

// x86Levels returns the x86-64 ISA levels the CPU supports, best first.
func x86Levels() []string {
	var out []string
	for _, l := range x86LevelTable {
		for _, has := range l.needs {
			if !*has {
				return out
			}
		}
		out = slices.Insert(out, 0, l.name)
	}
	return out
}

// x86LevelTable lists glibc's x86-64 ISA levels above the baseline, each
// with the CPU features it needs on top of the level before it.
var x86LevelTable = []struct {
	name  string
	needs []*bool
}{
	{"x86-64-v2", []*bool{&cpu.X86.HasCX16, &cpu.X86.HasLAHF, &cpu.X86.HasPOPCNT, &cpu.X86.HasSSE3,
		&cpu.X86.HasSSE41, &cpu.X86.HasSSE42, &cpu.X86.HasSSSE3}},
	{"x86-64-v3", []*bool{&cpu.X86.HasAVX, &cpu.X86.HasAVX2, &cpu.X86.HasBMI1, &cpu.X86.HasBMI2,
		&cpu.X86.HasF16C, &cpu.X86.HasFMA, &cpu.X86.HasLZCNT, &cpu.X86.HasMOVBE, &cpu.X86.HasOSXSAVE}},
	{"x86-64-v4", []*bool{&cpu.X86.HasAVX512F, &cpu.X86.HasAVX512BW, &cpu.X86.HasAVX512CD,
		&cpu.X86.HasAVX512DQ, &cpu.X86.HasAVX512VL}},
}
