package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/pkg/registry"
)

// TestRetryOptions: the retry policy is the caller's, through options. A
// registry answering every manifest request with the status given is asked
// as often as WithBackoff's Steps say when the status is one of
// WithRetryStatusCodes' (by default 503 is, 404 is not), else once.
func TestRetryOptions(t *testing.T) {
	fast := registry.WithBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3})
	for _, tc := range []struct {
		name   string
		status int
		opts   []registry.Option
		want   int64 // manifest requests
	}{
		{"503 by default", http.StatusServiceUnavailable, nil, 3},
		{"404 by default", http.StatusNotFound, nil, 1},
		{"503 left out of the codes", http.StatusServiceUnavailable, []registry.Option{registry.WithRetryStatusCodes(http.StatusTooManyRequests)}, 1},
		{"429 in the codes", http.StatusTooManyRequests, []registry.Option{registry.WithRetryStatusCodes(http.StatusTooManyRequests)}, 3},
		{"503 with five steps", http.StatusServiceUnavailable, []registry.Option{registry.WithBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 5})}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked atomic.Int64
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.URL.Path, "/manifests/") {
					return // the /v2/ ping: 200
				}
				asked.Add(1)
				w.WriteHeader(tc.status)
			}))
			defer s.Close()
			u, _ := url.Parse(s.URL)
			ref := imagetest.Ref(t, u.Host+"/jails/retry:1")
			_, err := registry.Image(context.Background(), ref, append([]registry.Option{fast}, tc.opts...)...)
			var re *registry.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want a *registry.Error", err)
			}
			if got := asked.Load(); got != tc.want {
				t.Errorf("manifest asked for %d times, want %d (error: %v)", got, tc.want, err)
			}
		})
	}
}
