package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/jailimg/jailimg/pkg/layout"
)

// RemoteOption configures Push and Pull.
type RemoteOption func(*remoteOptions)

type remoteOptions struct {
	transport http.RoundTripper
	auth      authn.Authenticator
	progress  func(Progress)
	insecure  bool
	extra     []remote.Option
}

// WithTransport sets the HTTP transport under jailimg's byte counting and
// go-containerregistry's retries and authentication. Default:
// remote.DefaultTransport.
func WithTransport(t http.RoundTripper) RemoteOption {
	return func(o *remoteOptions) { o.transport = t }
}

// WithInsecure lets jailimg speak plain HTTP to any registry: HTTPS is
// tried first, and plain HTTP when it fails. Default: HTTPS only, except
// to loopback registries (see Loopback), which may answer in plain HTTP;
// another registry that does fails with a *PlainHTTPError, as does a
// plain-HTTP redirect or token realm, unsent.
func WithInsecure() RemoteOption {
	return func(o *remoteOptions) { o.insecure = true }
}

// WithAuth sets the credentials. Default: the docker config keychain
// (authn.DefaultKeychain: $DOCKER_CONFIG or ~/.docker/config.json, with its
// credential helpers).
func WithAuth(a authn.Authenticator) RemoteOption {
	return func(o *remoteOptions) { o.auth = a }
}

// WithProgress has f called as blob bytes move. Default: no reports.
func WithProgress(f func(Progress)) RemoteOption {
	return func(o *remoteOptions) { o.progress = f }
}

// WithRemoteOptions adds go-containerregistry options after jailimg's own
// (context, transport, auth, retry policy), so they take precedence. A
// remote.WithTransport among them replaces jailimg's plain-HTTP rule with
// the transport's own: set the transport with WithTransport instead.
func WithRemoteOptions(opts ...remote.Option) RemoteOption {
	return func(o *remoteOptions) { o.extra = append(o.extra, opts...) }
}

// Progress is how far a transfer has come: Done of Total blob bytes.
type Progress struct {
	Done, Total int64
}

// guard returns the transport of one operation: o's, under jailimg's
// plain-HTTP rule.
func (o *remoteOptions) guard() *httpsGuard {
	return &httpsGuard{inner: o.transport, insecure: o.insecure}
}

// remote returns the go-containerregistry options for one operation over
// the transport t (a guard, or a meter counting a guard's bytes).
func (o *remoteOptions) remote(ctx context.Context, t http.RoundTripper) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(t)}
	if o.auth != nil {
		opts = append(opts, remote.WithAuth(o.auth))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	opts = append(opts, retryOptions()...)
	return append(opts, o.extra...)
}

func makeRemoteOptions(opts []RemoteOption) *remoteOptions {
	o := &remoteOptions{transport: remote.DefaultTransport}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// RegistryError is a failed registry operation, naming the registry and
// repository. Err is the cause: a *transport.Error for what the registry
// answered, a network error, or a digest or size mismatch.
type RegistryError struct {
	Op  string // push or pull
	Ref name.Reference
	Err error
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("%s %s (registry %s, repository %s): %s",
		e.Op, e.Ref, e.Ref.Context().RegistryStr(), e.Ref.Context().RepositoryStr(), registryMessage(e.Err))
}

// registryMessage is err's text, with a registry's error answer written as
// "CODE: message; CODE: message": go-containerregistry's own text appends
// each error's detail as a Go map ("map[Tag:nope]").
func registryMessage(err error) string {
	var te *transport.Error
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return err.Error()
	}
	msgs := make([]string, len(te.Errors))
	for i, d := range te.Errors {
		msgs[i] = fmt.Sprintf("%s: %s", d.Code, d.Message)
	}
	return fmt.Sprintf("%s (HTTP %d %s)", strings.Join(msgs, "; "), te.StatusCode, http.StatusText(te.StatusCode))
}

// Unwrap returns the cause.
func (e *RegistryError) Unwrap() error { return e.Err }

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
// faults are retried as Backoff says; permanent ones fail at once with a
// *RegistryError.
func Push(ctx context.Context, ref name.Reference, img v1.Image, opts ...RemoteOption) (PushResult, error) {
	o := makeRemoteOptions(opts)
	g := o.guard()
	fail := func(err error) (PushResult, error) {
		return PushResult{}, &RegistryError{Op: "push", Ref: ref, Err: g.explain(err)}
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
	ropts := o.remote(ctx, m)
	var (
		updates chan v1.Update
		done    chan struct{}
	)
	if o.progress != nil {
		updates, done = make(chan v1.Update, 64), make(chan struct{})
		ropts = append(ropts, remote.WithProgress(updates))
		go func() {
			defer close(done)
			for u := range updates {
				o.progress(Progress{Done: u.Complete, Total: u.Total})
			}
		}()
	}
	err = remote.Write(insecureRef(ref, o.insecure), img, ropts...)
	if done != nil {
		<-done // remote.Write closes updates when it returns
	}
	if err != nil {
		return fail(err)
	}
	return PushResult{Digest: digest, UploadedBytes: m.uploaded(config.String())}, nil
}

// Pull copies the image ref names into the OCI layout at dir, tagged tag,
// and returns its manifest digest. An index is resolved to the image for
// linux/amd64 unless WithRemoteOptions sets remote.WithPlatform. The index
// and manifest are checked first, as Source.Image checks them: a foreign
// document fails with a *DocumentError before the layout is touched. The layout
// is updated as UpdateLayout does: on any failure dir is left exactly as it
// was. Every blob downloaded is checked against its digest and size while it
// streams (go-containerregistry's remote layers verify on read and the
// layout keeps a blob only once it is read to the end); the blobs the layout
// already held, which the layout writer skips unread, are hashed in the
// updated copy before it replaces dir. A transfer cut off mid-blob restarts,
// up to PullAttempts times, keeping the blobs already verified.
func Pull(ctx context.Context, ref name.Reference, dir, tag string, opts ...RemoteOption) (v1.Hash, error) {
	o := makeRemoteOptions(opts)
	g := o.guard()
	fail := func(err error) (v1.Hash, error) {
		return v1.Hash{}, &RegistryError{Op: "pull", Ref: ref, Err: g.explain(err)}
	}
	var done atomic.Int64
	var total int64
	m := newMeter(g, func(n int64) {
		if o.progress != nil {
			o.progress(Progress{Done: min(done.Add(n), total), Total: total})
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
	total = mf.Config.Size
	for _, l := range mf.Layers {
		total += l.Size
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
		if err := retryTransfer(ctx, func() error { return layout.SetTag(p, img, tag) }); err != nil {
			var local *fs.PathError // writing the layout (disk full, read-only), not the registry
			if errors.As(err, &local) {
				return fmt.Errorf("writing layout %s: %w", dir, err)
			}
			return &RegistryError{Op: "pull", Ref: ref, Err: g.explain(err)}
		}
		return layout.VerifyImage(p, digest, had)
	})
	if err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}
