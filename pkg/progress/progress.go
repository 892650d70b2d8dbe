package progress

import (
	"slices"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Update is how far a transfer has come.
type Update struct {
	// Done of Total bytes of every blob the transfer moves (for a pull the
	// config's too; blobs the destination already holds count as done).
	Done, Total int64
	// Layers are the image's layers in manifest order, each with its own
	// bytes done.
	Layers []Blob
}

// Blob is how far the transfer of one blob has come: Done of Size bytes.
type Blob struct {
	Digest     v1.Hash
	Done, Size int64
}

// Tracker counts the bytes of a transfer and reports each change to a
// function. A nil *Tracker does nothing.
type Tracker struct {
	f  func(Update)
	mu sync.Mutex
	u  Update
}

// NewTracker returns a tracker reporting to f the transfer of total bytes,
// the layers described by layers among them; nil when f is nil.
func NewTracker(f func(Update), total int64, layers []v1.Descriptor) *Tracker {
	if f == nil {
		return nil
	}
	t := &Tracker{f: f, u: Update{Total: total, Layers: make([]Blob, len(layers))}}
	for i, l := range layers {
		t.u.Layers[i] = Blob{Digest: l.Digest, Size: l.Size}
	}
	return t
}

// Index returns the index of the first layer with digest d, or -1.
func (t *Tracker) Index(d v1.Hash) int {
	if t == nil {
		return -1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.IndexFunc(t.u.Layers, func(b Blob) bool { return b.Digest == d })
}

// Add counts n more bytes done, of layer i (or of no layer when i < 0).
func (t *Tracker) Add(i int, n int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.u.Done = min(t.u.Done+n, t.u.Total)
	if i >= 0 && i < len(t.u.Layers) {
		l := &t.u.Layers[i]
		l.Done = min(l.Done+n, l.Size)
	}
	t.report()
}

// Set says that n bytes of layer i are done, leaving the total alone.
func (t *Tracker) Set(i int, n int64) {
	if t == nil || i < 0 || i >= len(t.u.Layers) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.u.Layers[i].Done = min(n, t.u.Layers[i].Size)
	t.report()
}

// SetTotal says that done of total bytes are done in all.
func (t *Tracker) SetTotal(done, total int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.u.Done, t.u.Total = min(done, total), total
	t.report()
}

// report calls f with a copy of the update; t.mu is held.
func (t *Tracker) report() {
	u := t.u
	u.Layers = slices.Clone(t.u.Layers)
	t.f(u)
}
