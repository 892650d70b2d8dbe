package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/jailimg/jailimg/pkg/progress"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// bars draws a transfer on a terminal: one bar per layer with its bytes,
// rate and time left, and a bar for the whole. They are made on the first
// update (the layers are known then) and left on the screen, where they
// stopped, by finish.
type bars struct {
	w    io.Writer
	verb string

	mu     sync.Mutex
	p      *mpb.Progress
	layers []*mpb.Bar
	total  *mpb.Bar
	rates  []*rate // layers', then the total's
}

func newBars(w io.Writer, verb string) *bars { return &bars{w: w, verb: verb} }

// update implements the progress callbacks of registry and unpack.
func (b *bars) update(u progress.Update) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		b.start(u)
	}
	for i, l := range u.Layers {
		if i < len(b.layers) {
			b.rates[i].set(l.Done, l.Size)
			b.layers[i].SetCurrent(l.Done)
		}
	}
	if u.Total > 0 {
		b.rates[len(b.layers)].set(u.Done, u.Total)
		b.total.SetTotal(u.Total, false)
		b.total.SetCurrent(u.Done)
	}
}

func (b *bars) start(u progress.Update) {
	b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond))
	var sum int64
	for i, l := range u.Layers {
		b.layers = append(b.layers, b.bar(fmt.Sprintf("layer %d %s", i+1, shortDigest(l.Digest.Hex)), l.Size))
		sum += l.Size
	}
	b.total = b.bar(fmt.Sprintf("%s, %d layers", b.verb, len(u.Layers)), max(u.Total, sum))
}

func (b *bars) bar(name string, size int64) *mpb.Bar {
	r := &rate{}
	b.rates = append(b.rates, r)
	return b.p.New(max(size, 1), mpb.BarStyle().Lbound("[").Rbound("]"),
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			decor.Counters(decor.SizeB1000(0), "% .1f / % .1f", decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string { return r.speed() }, decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string { return r.eta() }, decor.WCSyncSpace),
		))
}

// rate is how fast a bar moves: from its first byte to its last, or to now.
type rate struct {
	mu         sync.Mutex
	start, end time.Time
	done, size int64
}

func (r *rate) set(done, size int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.start.IsZero() && done > 0 {
		r.start = now
	}
	if done >= size && r.end.IsZero() {
		r.end = now
	}
	r.done, r.size = done, size
}

// perSecond is the average rate in bytes per second, 0 before the first
// byte; r.mu is held.
func (r *rate) perSecond() float64 {
	if r.start.IsZero() {
		return 0
	}
	end := r.end
	if end.IsZero() {
		end = time.Now()
	}
	return float64(r.done) / max(end.Sub(r.start).Seconds(), 1e-3)
}

func (r *rate) speed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return humanBytes(int64(r.perSecond())) + "/s"
}

// eta is the time left at the average rate, "done" at the end.
func (r *rate) eta() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ps := r.perSecond(); {
	case !r.end.IsZero():
		return "done"
	case ps == 0:
		return "ETA -"
	default:
		return "ETA " + time.Duration(float64(r.size-r.done)/ps*float64(time.Second)).Round(time.Second).String()
	}
}

// finish leaves the bars as they are (a layer the destination already held
// never moves) and waits for the last drawing.
func (b *bars) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p == nil {
		return
	}
	for _, bar := range append(b.layers, b.total) {
		if !bar.Completed() {
			bar.Abort(false)
		}
	}
	b.p.Wait()
}

func shortDigest(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}
