package resolve

import (
	"bytes"
	"debug/elf"
	"slices"
	"testing"
)

// TestBuildELF checks the test ELF writer against debug/elf's own reader
// (section-less, so through DynString's fallback is impossible; compare with
// parseObject and elf.NewFile's program headers).
func TestBuildELF(t *testing.T) {
	for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
		t.Run(class.String(), func(t *testing.T) {
			b := buildELF(elfSpec{class: class, machine: elf.EM_386, interp: "/lib/ld.so", needed: []string{"liba.so", "libb.so"}, rpath: "/r", soname: "libme.so"})
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if f.Class != class || len(f.Progs) != 3 {
				t.Fatalf("class %v progs %d", f.Class, len(f.Progs))
			}
			o, err := parseObject(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if o.interp != "/lib/ld.so" || !slices.Equal(o.needed, []string{"liba.so", "libb.so"}) || o.rpath != "/r" || o.soname != "libme.so" {
				t.Fatalf("got %+v", o)
			}
		})
	}
}
