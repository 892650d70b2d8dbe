package resolve

import (
	"context"
	"debug/elf"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fuzzSeeds are small ELF files made by buildELF, plus damaged variants.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, s := range []elfSpec{
		{interp: "/lib64/ld-linux-x86-64.so.2", needed: []string{"libf.so", "libc.so.6"}, rpath: "$ORIGIN/../lib"},
		{class: elf.ELFCLASS32, machine: elf.EM_386, interp: "/lib/ld-linux.so.2", needed: []string{"libf.so"}, runpath: "/x:${LIB}"},
		{needed: []string{"/usr/bin/x", "libf.so"}, soname: "libf.so", flags1: uint64(elf.DF_1_NODEFLIB)},
		{typ: elf.ET_EXEC, static: true},
	} {
		b := buildELF(s)
		seeds = append(seeds, b, b[:len(b)/2], b[:20])
	}
	return seeds
}

// FuzzResolve feeds arbitrary bytes as a program and as the library it
// needs: Resolve must return (an error or a closure), never panic or hang,
// and what it returns must be well formed.
func FuzzResolve(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"usr/bin/x":                          {Data: data, Mode: 0o755},
			"usr/lib/x86_64-linux-gnu/libf.so":   {Data: data},
			"usr/lib/x86_64-linux-gnu/libc.so.6": {Data: data},
			"lib64/ld-linux-x86-64.so.2":         {Data: data},
			"lib":                                {Data: []byte("usr/lib"), Mode: fs.ModeSymlink},
		}
		r, err := New(fsys, WithHWCaps("x86-64-v2"))
		if err != nil {
			t.Fatal(err)
		}
		cl, err := r.Resolve(context.Background(), Request{Binaries: []string{"/usr/bin/x"}, Libraries: []string{"libf.so"}})
		if cl == nil {
			t.Fatalf("nil closure (err %v)", err)
		}
		if !slices.IsSorted(cl.Files) || len(slices.Compact(slices.Clone(cl.Files))) != len(cl.Files) {
			t.Fatalf("Files not sorted and unique: %q", cl.Files)
		}
		for _, p := range cl.Files {
			if _, ok := fsys[strings.TrimPrefix(p, "/")]; !ok {
				t.Fatalf("file %s not in the root", p)
			}
		}
		var me *MissingLibError
		if err != nil && !errors.As(err, &me) && !strings.Contains(err.Error(), "/") {
			t.Fatalf("error names no path: %v", err)
		}
	})
}

// FuzzLDCache feeds arbitrary bytes to the ld.so.cache parser and lookup.
func FuzzLDCache(f *testing.F) {
	f.Add(buildLDCache([]cacheEnt{
		{"liba.so", "/a/liba.so", 0x0303, ""},
		{"libh.so", "/h/libh.so", 0x0303, "x86-64-v3"},
	}))
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseLDCache(data)
		if err != nil {
			return
		}
		for k := range c {
			c.lookup(k, elf.ELFCLASS64, elf.EM_X86_64, []string{"x86-64-v3", "x86-64-v2"})
		}
	})
}
