// Command bench measures jailimg against the tools users would pick instead,
// on the same data in one run, and writes docs/benchmarks.md and
// docs/benchmarks.png (a gnuplot bar chart of the ratios). `make bench` runs
// it; see docs/benchmarks.md for what each section compares.
//
// It alternates the tools run by run (round r starts with tool r mod n, so
// no tool always runs first on a warm or a cold machine), and reports the
// median and the min–max of each, and the ratio of jailimg's median to each
// peer's. Setup and cleanup (removing the previous output, wiping the
// registry for a first push) run outside the timed part. A peer that fails
// is reported as failed and the rest goes on.
//
// Everything happens under one work directory, by default the tmpfs
// /dev/shm/jailimg-bench, so that no tool pays for a disk the others do
// not: syncfs and fsync cost nothing there. The data are reproducible: the
// large tree comes from a seeded PRNG (gentree.go).
//
// Environment (all optional):
//
//	BENCH_SIZE        size of the generated tree, e.g. 500M (default), 50M for a quick run
//	BENCH_RUNS        runs of each tool on the large data (default 5)
//	BENCH_RUNS_SMALL  runs of each tool on small data and fast cases (default 15)
//	BENCH_DIR         work directory (default /dev/shm/jailimg-bench), emptied first
//	BENCH_SECTIONS    comma-separated subset of resolve,build,unpack,registry,boot,packages
//	BENCH_OUT         the report to write (default docs/benchmarks.md; the .png and .json beside it)
//	BENCH_BEFORE      an earlier jailimg binary: the unpack tables get a row for it, and the
//	                  breakdown of the small image its total (before and after a change)
//	GO                the go command that builds bench/unpackalone and bench/decodealone
//	                  (default go; make bench sets it)
//
// The measurements are saved as docs/benchmarks.json; `go run ./bench -report`
// renders the doc and the chart again from it without measuring.
//
// It is a program, not a test: `go test ./...` does not run it.
package main
