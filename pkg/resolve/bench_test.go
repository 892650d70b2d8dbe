package resolve

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// BenchmarkResolveUsrBin compares, in one run, resolving every dynamic ELF
// file of /usr/bin and /usr/sbin with one Resolve call (a fresh Resolver each
// time, so nothing is cached between iterations) against running
// `ld.so --list` and `ldd` on each file, with GOMAXPROCS concurrent commands.
// It reports each one's milliseconds per round and the ratios
// ldso/resolve and ldd/resolve (how many times faster the resolver is).
//
//	go test -run '^$' -bench ResolveUsrBin ./pkg/resolve/
func BenchmarkResolveUsrBin(b *testing.B) {
	const ldso = "/lib64/ld-linux-x86-64.so.2"
	if _, err := os.Stat(ldso); err != nil {
		b.Skipf("no %s: %v", ldso, err)
	}
	if _, err := exec.LookPath("ldd"); err != nil {
		b.Skipf("no ldd: %v", err)
	}
	r0, err := New(os.DirFS("/"))
	if err != nil {
		b.Fatal(err)
	}
	files := hostDynamicELF(b, r0, "/usr/bin", "/usr/sbin")
	run := func(argv ...string) func(int, string) {
		return func(_ int, f string) {
			// Exit status is ignored: a few objects make ld.so complain.
			_ = exec.Command(argv[0], append(argv[1:], f)...).Run()
		}
	}
	var tResolve, tLdso, tLdd time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		r, err := New(os.DirFS("/"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Resolve(context.Background(), Request{Binaries: files}); err != nil {
			b.Logf("Resolve: %v", err) // a missing library is still a full run
		}
		t1 := time.Now()
		forEach(files, run(ldso, "--list"))
		t2 := time.Now()
		forEach(files, run("ldd"))
		t3 := time.Now()
		tResolve += t1.Sub(start)
		tLdso += t2.Sub(t1)
		tLdd += t3.Sub(t2)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(float64(len(files)), "files")
	b.ReportMetric(ms(tResolve), "resolve-ms")
	b.ReportMetric(ms(tLdso), "ldso-ms")
	b.ReportMetric(ms(tLdd), "ldd-ms")
	b.ReportMetric(float64(tLdso)/float64(tResolve), "ldso/resolve")
	b.ReportMetric(float64(tLdd)/float64(tResolve), "ldd/resolve")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "workers")
}
