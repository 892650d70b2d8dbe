package image

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Backoff is how registry requests are retried: after a transient fault
// jailimg waits 1 s, then 2 s, 4 s and 8 s (each ±10 %), five tries in all,
// so one request gives up after about 15 s of waiting. Push retries a whole
// blob upload the same way; Pull retries the whole transfer up to
// PullAttempts times, keeping the blobs it already verified.
var Backoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5}

// PullAttempts bounds how often Pull restarts a transfer cut off mid-blob.
const PullAttempts = 3

// RetryStatusCodes are the HTTP statuses retried: request timeout, too many
// requests and the server errors 500, 502, 503 and 504. Every other status,
// among them 401, 403 and 404, fails at once.
var RetryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// Transient reports whether err is worth retrying: a connection refused,
// reset or cut off, a network timeout, or a registry error the distribution
// spec calls temporary (429, 5xx, TOOMANYREQUESTS, UNAVAILABLE). Digest and
// size mismatches, authentication and authorization failures, unknown names
// and a canceled context are permanent.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Temporary()
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	for _, e := range []error{io.ErrUnexpectedEOF, io.EOF, syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.EPIPE, net.ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// retryOptions are the remote options that set the retry policy above.
func retryOptions() []remote.Option {
	return []remote.Option{
		remote.WithRetryBackoff(Backoff),
		remote.WithRetryStatusCodes(RetryStatusCodes...),
		remote.WithRetryPredicate(Transient),
	}
}

// retryTransfer runs f again while it fails with a Transient error, at most
// PullAttempts times in all, waiting as Backoff says between tries.
func retryTransfer(ctx context.Context, f func() error) error {
	wait := Backoff.Duration
	var err error
	for attempt := 1; ; attempt++ {
		if err = f(); err == nil || !Transient(err) || attempt == PullAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = time.Duration(float64(wait) * Backoff.Factor)
	}
}
