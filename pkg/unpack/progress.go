package unpack

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	pkgprogress "github.com/jailimg/jailimg/pkg/progress"
)

// progressStep is how many compressed bytes pass between two updates.
const progressStep = 1 << 20

// progress sends v1.Update values for the compressed bytes read, as
// go-containerregistry's remote.WithProgress does. A nil *progress does
// nothing.
type progress struct {
	ch          chan<- v1.Update // nil without WithProgress
	total, done int64
	last        int64 // done at the last update sent

	f     func(pkgprogress.Update) // WithProgressFunc
	t     *pkgprogress.Tracker
	layer int // the layer being read
}

// WithProgress makes Unpack send updates to ch: Total is the compressed
// size of all layers, Complete the compressed bytes read and verified so far.
// An update is sent at least every MiB and at the end of each layer; the
// last one carries Error when Unpack fails. Unpack closes ch when it
// returns, so the caller must drain it (e.g. with a range loop in its own
// goroutine). An image that is already live sends no update. Default: no
// updates.
func WithProgress(ch chan<- v1.Update) Option {
	return func(o *options) {
		if o.progress == nil {
			o.progress = &progress{}
		}
		o.progress.ch = ch
	}
}

// WithProgressFunc has f called with each layer's compressed bytes read so
// far and their total, one call at a time, after every chunk read (see
// package progress). An image that is already live makes no call. Default:
// no calls.
func WithProgressFunc(f func(pkgprogress.Update)) Option {
	return func(o *options) {
		if o.progress == nil {
			o.progress = &progress{}
		}
		o.progress.f = f
	}
}

// start sets the total from the layers about to be read.
func (p *progress) start(refs []layerRef) {
	if p == nil {
		return
	}
	descs := make([]v1.Descriptor, len(refs))
	for i, r := range refs {
		p.total += r.desc.Size
		descs[i] = r.desc
	}
	p.t = pkgprogress.NewTracker(p.f, p.total, descs)
	p.t.SetTotal(0, p.total)
	p.send()
}

// startLayer says that the bytes read next are layer i's.
func (p *progress) startLayer(i int) {
	if p != nil {
		p.layer = i
	}
}

// add counts n more compressed bytes; final forces an update.
func (p *progress) add(n int64, final bool) {
	if p == nil {
		return
	}
	p.done += n
	if n > 0 {
		p.t.Add(p.layer, n)
	}
	if final || p.done-p.last >= progressStep {
		p.send()
	}
}

func (p *progress) send() {
	p.last = p.done
	if p.ch != nil {
		p.ch <- v1.Update{Total: p.total, Complete: min(p.done, p.total)}
	}
}

// close reports *errp, if any, and closes the channel.
func (p *progress) close(errp *error) {
	if p == nil {
		return
	}
	if p.ch == nil {
		return
	}
	if *errp != nil {
		p.ch <- v1.Update{Total: p.total, Complete: min(p.done, p.total), Error: *errp}
	}
	close(p.ch)
}
