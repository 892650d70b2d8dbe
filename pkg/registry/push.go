package registry

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushResult is what Push did.
type PushResult struct {
	// Digest is the manifest's digest.
	Digest v1.Hash
	// UploadedBytes counts the layer bytes sent, retries included; blobs the
	// registry already held are not sent, so a repeated push sends 0.
	UploadedBytes int64
}

// Push uploads img to ref: the blobs the registry lacks (go-containerregistry
// asks with HEAD first), then the manifest, tagged as ref says. Transient
// faults are retried as WithBackoff says; permanent ones fail at once with
// an *Error. A push that fails or whose ctx is cancelled (Ctrl-C) cancels
// the blob upload sessions it left open on the registry (DELETE on each
// session's URL, within 10 seconds), which go-containerregistry does not.
func Push(ctx context.Context, ref name.Reference, img v1.Image, opts ...Option) (PushResult, error) {
	o := makeOptions(opts)
	g := o.guard()
	fail := func(err error) (PushResult, error) {
		return PushResult{}, &Error{Op: "push", Ref: ref, Err: g.explain(err)}
	}
	digest, err := img.Digest()
	if err != nil {
		return PushResult{}, err
	}
	config, err := img.ConfigName()
	if err != nil {
		return PushResult{}, err
	}
	m := newMeter(g, nil)
	up := newUploads(m)
	ropts := o.remote(ctx, up)
	var (
		updates chan v1.Update
		done    chan struct{}
	)
	if o.progress != nil {
		t, counted, err := trackLayers(img, o.progress)
		if err != nil {
			return PushResult{}, err
		}
		img = counted
		updates, done = make(chan v1.Update, 64), make(chan struct{})
		ropts = append(ropts, remote.WithProgress(updates))
		go func() {
			defer close(done)
			for u := range updates {
				t.SetTotal(u.Complete, u.Total)
			}
		}()
	}
	err = remote.Write(insecureRef(ref, o.insecure), img, ropts...)
	if done != nil {
		<-done // remote.Write closes updates when it returns
	}
	if err != nil {
		up.cancel(ctx) // interrupted or failed: close the registry's upload sessions
		return fail(err)
	}
	return PushResult{Digest: digest, UploadedBytes: m.uploaded(config.String())}, nil
}
