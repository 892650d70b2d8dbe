package registry

import (
	"context"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/jailimg/jailimg/pkg/progress"
)

// Option configures Push, Pull and Image.
type Option func(*options)

type options struct {
	transport   http.RoundTripper
	auth        authn.Authenticator
	progress    func(Progress)
	insecure    bool
	backoff     remote.Backoff
	retryStatus []int
	keepPrev    bool
}

// WithTransport sets the HTTP transport under jailimg's byte counting and
// go-containerregistry's retries and authentication. Default:
// remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithInsecure lets jailimg speak plain HTTP to any registry: HTTPS is
// tried first, and plain HTTP when it fails. Default: HTTPS only, except
// to loopback registries (see Loopback), which may answer in plain HTTP;
// another registry that does fails with a *PlainHTTPError, as does a
// plain-HTTP redirect or token realm, unsent.
func WithInsecure() Option {
	return func(o *options) { o.insecure = true }
}

// WithAuth sets the credentials. Default: the docker config keychain
// (authn.DefaultKeychain: $DOCKER_CONFIG or ~/.docker/config.json, with its
// credential helpers).
func WithAuth(a authn.Authenticator) Option {
	return func(o *options) { o.auth = a }
}

// WithProgress has f called as blob bytes move, by Push and Pull, one call
// at a time (see package progress). Default: no reports.
func WithProgress(f func(Progress)) Option {
	return func(o *options) { o.progress = f }
}

// WithBackoff sets how registry requests are retried after a transient
// fault (see Transient). Default: jailimg waits 1 s, then 2 s, 4 s and
// 8 s (each ±10 %), five tries in all, so one request gives up after about
// 15 s of waiting (remote.Backoff{Duration: time.Second, Factor: 2,
// Jitter: 0.1, Steps: 5}). Push retries a whole blob upload the same way;
// Pull retries the whole transfer up to PullAttempts times, keeping the
// blobs it already verified, waiting b.Duration, then that times b.Factor,
// between them.
func WithBackoff(b remote.Backoff) Option {
	return func(o *options) { o.backoff = b }
}

// WithRetryStatusCodes sets the HTTP statuses retried. Default: request
// timeout, too many requests and the server errors 500, 502, 503 and 504;
// every other status, among them 401, 403 and 404, fails at once.
func WithRetryStatusCodes(codes ...int) Option {
	return func(o *options) { o.retryStatus = slices.Clone(codes) }
}

// WithKeepPrevious makes Pull keep the image the tag named before, when it
// was another, as the tag's previous image (layout.SetTagKeepPrevious), so
// that a boot cache holds the live image and the one before it. Default:
// the tag is moved and the image it named leaves the index (its blobs stay
// until layout.GC).
func WithKeepPrevious() Option {
	return func(o *options) { o.keepPrev = true }
}

// Progress is how far a transfer has come: Done of Total blob bytes (the
// config's and the layers'), and each layer's part.
type Progress = progress.Update

func makeOptions(opts []Option) *options {
	o := &options{transport: remote.DefaultTransport, backoff: defaultBackoff, retryStatus: defaultRetryStatus()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// guard returns the transport of one operation: o's, under jailimg's
// plain-HTTP rule.
func (o *options) guard() *httpsGuard {
	return &httpsGuard{inner: o.transport, insecure: o.insecure}
}

// remote returns the go-containerregistry options for one operation over
// the transport t (a guard, or a meter counting a guard's bytes): context,
// transport, credentials and the retry policy.
func (o *options) remote(ctx context.Context, t http.RoundTripper) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(t)}
	if o.auth != nil {
		opts = append(opts, remote.WithAuth(o.auth))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	return append(opts,
		remote.WithRetryBackoff(o.backoff),
		remote.WithRetryStatusCodes(o.retryStatus...),
		remote.WithRetryPredicate(Transient),
	)
}
