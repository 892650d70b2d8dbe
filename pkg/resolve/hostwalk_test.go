package resolve

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// hostDynamicELF lists the regular files under dirs (recursively) that are
// dynamic ELF objects: with PT_INTERP or DT_NEEDED. Symlinks are left out
// (they name the same files).
func hostDynamicELF(t testing.TB, r *Resolver, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			c, err := r.input(p)
			if err != nil || (c.obj.interp == "" && len(c.obj.needed) == 0) {
				return nil
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// forEach runs f on every item with a bounded pool of workers.
func forEach(items []string, f func(i int, item string)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(runtime.GOMAXPROCS(0), 2) {
		wg.Go(func() {
			for i := range next {
				f(i, items[i])
			}
		})
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestHostTreeMatchesLdd resolves every dynamic ELF file under /usr/bin,
// /usr/sbin and /usr/lib/x86_64-linux-gnu one by one and compares the real
// paths of the files with ldd's (and the libraries it cannot find).
// For objects without PT_INTERP ldd lists the loader that ldd itself used;
// the resolver lists it only when a DT_NEEDED names it, so it is left out of
// both sides there.
func TestHostTreeMatchesLdd(t *testing.T) {
	testutil.Short(t, "runs ldd on thousands of files")
	needLdd(t)
	r, err := New(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	files := hostDynamicELF(t, r, "/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu")
	if len(files) < 100 {
		t.Fatalf("only %d dynamic ELF files found", len(files))
	}
	rtld, err := filepath.EvalSymlinks("/lib64/ld-linux-x86-64.so.2")
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		skip bool
		diff string
	}
	results := make([]outcome, len(files))
	forEach(files, func(i int, f string) {
		want, err := runLdd(f)
		if err != nil {
			results[i].diff = err.Error()
			return
		}
		if want.static {
			// ldd refuses objects its loader cannot take (e.g. other ABIs);
			// those are not compared.
			results[i].skip = true
			return
		}
		cl, _ := r.Resolve(context.Background(), Request{Binaries: []string{f}})
		got := cl.Files
		var gotMissing []string
		for _, m := range cl.Missing {
			gotMissing = append(gotMissing, m.Soname)
		}
		slices.Sort(gotMissing)
		gotMissing = slices.Compact(gotMissing)
		wantMissing := slices.Compact(want.missing)
		if c, _ := r.input(f); c != nil && c.obj.interp == "" {
			got = slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s == rtld })
			want.files = slices.DeleteFunc(want.files, func(s string) bool { return s == rtld })
		}
		if !slices.Equal(got, want.files) || !slices.Equal(gotMissing, wantMissing) {
			results[i].diff = "resolver: " + strings.Join(got, " ") + " missing " + strings.Join(gotMissing, " ") +
				"\n\tldd:      " + strings.Join(want.files, " ") + " missing " + strings.Join(wantMissing, " ")
		}
	})
	agree, skipped := 0, 0
	for i, res := range results {
		switch {
		case res.skip:
			skipped++
		case res.diff == "":
			agree++
		default:
			t.Errorf("%s:\n\t%s", files[i], res.diff)
		}
	}
	t.Logf("%d of %d dynamic ELF files agree with ldd (%d not taken by ldd)", agree, len(files)-skipped, skipped)
}
