package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/progress"
)

// Pull copies the image ref names into the OCI layout at dir, tagged tag,
// and returns its manifest digest. An index is resolved to the image for
// linux/amd64. The index and manifest are checked first, as Image checks
// them: a foreign document fails with a *layout.DocumentError before the
// layout is touched. The layout is updated as layout.Update does: on any
// failure dir is left exactly as it was. Every blob downloaded is checked
// against its digest and size while it streams (go-containerregistry's
// remote layers verify on read and the layout keeps a blob only once it is
// read to the end); the blobs the layout already held, which the layout
// writer skips unread, are hashed in the updated copy before it replaces
// dir. A transfer cut off mid-blob restarts, up to PullAttempts times,
// keeping the blobs already verified.
func Pull(ctx context.Context, ref name.Reference, dir, tag string, opts ...Option) (v1.Hash, error) {
	o := makeOptions(opts)
	g := o.guard()
	fail := func(err error) (v1.Hash, error) {
		return v1.Hash{}, &Error{Op: "pull", Ref: ref, Err: g.explain(err)}
	}
	var track atomic.Pointer[progress.Tracker] // set once the manifest is read
	m := newMeter(g, func(d string, n int64) {
		if t := track.Load(); t != nil {
			h, _ := v1.NewHash(d)
			t.Add(t.Index(h), n)
		}
	})
	img, err := fetchImage(insecureRef(ref, o.insecure), o.remote(ctx, m))
	if err != nil {
		return fail(err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return fail(err)
	}
	total := mf.Config.Size
	for _, l := range mf.Layers {
		total += l.Size
	}
	if t := progress.NewTracker(o.progress, total, mf.Layers); t != nil {
		track.Store(t)
	}
	digest, err := img.Digest()
	if err != nil {
		return fail(err)
	}
	err = layout.Update(ctx, dir, func(p ocilayout.Path) error {
		if err := layout.CheckStaged(dir, p); err != nil {
			return err // the local layout is broken, not the registry
		}
		had := layout.Blobs(p)
		setTag := layout.SetTag
		if o.keepPrev {
			setTag = layout.SetTagKeepPrevious
		}
		if err := retryTransfer(ctx, o.backoff, func() error { return setTag(p, img, tag) }); err != nil {
			var local *fs.PathError // writing the layout (disk full, read-only), not the registry
			if errors.As(err, &local) {
				return fmt.Errorf("writing layout %s: %w", dir, err)
			}
			return &Error{Op: "pull", Ref: ref, Err: g.explain(err)}
		}
		return layout.VerifyImage(p, digest, had)
	})
	if err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}
