package registry

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

// defaultBackoff is the retry policy WithBackoff documents.
var defaultBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5}

// defaultRetryStatus returns the statuses WithRetryStatusCodes documents.
func defaultRetryStatus() []int {
	return []int{
		http.StatusRequestTimeout,
		http.StatusTooManyRequests,
		http.StatusInternalServerError,
		http.StatusBadGateway,
		http.StatusServiceUnavailable,
		http.StatusGatewayTimeout,
	}
}

// PullAttempts bounds how often Pull restarts a transfer cut off mid-blob.
const PullAttempts = 3

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

// retryTransfer runs f again while it fails with a Transient error, at most
// PullAttempts times in all, waiting as b says between tries.
func retryTransfer(ctx context.Context, b remote.Backoff, f func() error) error {
	wait := b.Duration
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
		wait = time.Duration(float64(wait) * b.Factor)
	}
}
