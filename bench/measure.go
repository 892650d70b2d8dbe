package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Tool is one way of doing the thing a Group measures.
type Tool struct {
	// Name labels the tool in tables and the chart.
	Name string
	// Argv is the timed command; sh(...) wraps a pipeline.
	Argv []string `json:"-"`
	// Setup and Clean run untimed before and after each run.
	Setup, Clean func() error `json:"-"`
	// Out, when set, receives each run's stdout.
	Out func([]byte) error `json:"-"`
	// Skip, when set, says why the tool is not run.
	Skip string `json:",omitempty"`
	// Times are the durations of the runs that succeeded.
	Times []time.Duration
	// Failed is the error of the run that failed; the tool is not run again.
	Failed string `json:",omitempty"`
}

// Target is what jailimg's median must reach: at most Max times the median
// of Peer, or at most Abs when Peer is empty.
type Target struct {
	Peer string
	Max  float64
	Abs  time.Duration
	// Text is how the doc states it, e.g. "≤ 1.2×".
	Text string
}

// Group is one comparison: the subject (jailimg, Tools[0]) and its peers on
// the same data.
type Group struct {
	Section, Name string
	Tools         []*Tool
	Runs          int
	Targets       []Target
	// Short labels the group's bars in the chart ("" keeps it out).
	Short string
	// Notes are printed under the group's table.
	Notes []string
	// Checks are targets that are not times: target, measured, verdict.
	Checks [][3]string
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

// Run measures every tool g.Runs times, alternating them.
func (g *Group) Run() {
	logf("%s: %s (%d runs × %d tools)", g.Section, g.Name, g.Runs, len(g.Tools))
	for r := range g.Runs {
		for i := range g.Tools {
			t := g.Tools[(r+i)%len(g.Tools)]
			if t.Skip != "" || t.Failed != "" {
				continue
			}
			d, err := t.once()
			if err != nil {
				t.Failed = err.Error()
				logf("  %s FAILED: %v", t.Name, err)
				continue
			}
			t.Times = append(t.Times, d)
		}
	}
	for _, t := range g.Tools {
		if t.ok() {
			logf("  %-28s median %s", t.Name, fmtDur(t.Median()))
		}
	}
}

// once runs the tool once, between its setup and its cleanup, and returns
// how long argv took.
func (t *Tool) once() (time.Duration, error) {
	var d time.Duration
	err := t.around(func() error {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(t.Argv[0], t.Argv[1:]...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		d = time.Since(start)
		if err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(abbrev(t.Argv), " "), err, lastLine(stderr.String()))
		}
		if t.Out != nil {
			return t.Out(stdout.Bytes())
		}
		return nil
	})
	return d, err
}

// around runs f between the tool's setup and its cleanup.
func (t *Tool) around(f func() error) error {
	if t.Setup != nil {
		if err := t.Setup(); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	if err := f(); err != nil {
		return err
	}
	if t.Clean != nil {
		if err := t.Clean(); err != nil {
			return fmt.Errorf("clean: %w", err)
		}
	}
	return nil
}

// timeBin is GNU time, which measures peak memory (see peakRSS).
const timeBin = "/usr/bin/time"

// peakRSS runs the tool once more, untimed, under GNU time and returns the
// maximum resident set size of argv, in bytes. The timed runs cannot give
// it: Go starts a child with vfork, and exec carries the parent's peak into
// the child's ru_maxrss, so every reading would be at least the bench's own
// peak. GNU time starts its child with fork, from a process of about 1 MiB.
func (t *Tool) peakRSS() (int64, error) {
	out, err := os.CreateTemp("", "jailimg-bench-rss")
	if err != nil {
		return 0, err
	}
	defer os.Remove(out.Name())
	out.Close()
	err = t.around(func() error {
		argv := append([]string{timeBin, "-f", "%M", "-o", out.Name()}, t.Argv...)
		return runQuiet(argv...)
	})
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(out.Name())
	if err != nil {
		return 0, err
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(lastLine(string(raw))), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s -f %%M: %q: %w", timeBin, raw, err)
	}
	return kib << 10, nil
}

func (t *Tool) ok() bool { return t.Skip == "" && t.Failed == "" && len(t.Times) > 0 }

// Median is the median run time (the mean of the middle two for an even count).
func (t *Tool) Median() time.Duration {
	s := slices.Sorted(slices.Values(t.Times))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Min and Max are the fastest and slowest runs.
func (t *Tool) Min() time.Duration { return slices.Min(t.Times) }
func (t *Tool) Max() time.Duration { return slices.Max(t.Times) }

// Ratio is the subject's median over peer's, or 0 when either has no result.
func (g *Group) Ratio(peer *Tool) float64 {
	s := g.Tools[0]
	if !s.ok() || !peer.ok() {
		return 0
	}
	return float64(s.Median()) / float64(peer.Median())
}

func (g *Group) tool(name string) *Tool {
	for _, t := range g.Tools {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Verdict says whether the target is met: "pass", "miss" or "n/a".
func (g *Group) Verdict(tg Target) string {
	s := g.Tools[0]
	if !s.ok() {
		return "n/a"
	}
	if tg.Peer == "" {
		return passMiss(s.Median() <= tg.Abs)
	}
	p := g.tool(tg.Peer)
	if p == nil || !p.ok() {
		return "n/a"
	}
	return passMiss(g.Ratio(p) <= tg.Max)
}

func passMiss(ok bool) string {
	if ok {
		return "pass"
	}
	return "miss"
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// abbrev shortens long argument lists (resolve's thousand paths) for messages.
func abbrev(argv []string) []string {
	if len(argv) > 6 {
		return append(slices.Clip(argv[:5]), fmt.Sprintf("…(%d more)", len(argv)-5))
	}
	return argv
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
}
