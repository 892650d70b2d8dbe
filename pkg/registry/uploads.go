package registry

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cancelTimeout bounds the requests that cancel the upload sessions of a
// failed push: the push has failed already, and a registry that does not
// answer keeps its session until it purges it.
const cancelTimeout = 10 * time.Second

// uploads is an http.RoundTripper that keeps the blob upload sessions a
// push opened and has not completed (distribution spec: POST
// .../blobs/uploads/ answered 202 with a Location, PATCHed to further
// Locations, closed by a PUT answered 201), so that a push that fails or
// is interrupted can cancel them (DELETE on the session's URL) rather than
// leave them open on the registry. go-containerregistry's remote.Write does
// not. It sits under go-containerregistry's authenticating transport and
// keeps each session's Authorization header for its DELETE.
type uploads struct {
	inner http.RoundTripper
	mu    sync.Mutex
	open  map[string]session // by the session URL's path
}

// session is an open upload session: its last URL and credentials.
type session struct {
	url, auth string
}

func newUploads(inner http.RoundTripper) *uploads {
	return &uploads{inner: inner, open: map[string]session{}}
}

// RoundTrip implements http.RoundTripper.
func (u *uploads) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := u.inner.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/blobs/uploads/") {
		return resp, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated,
		req.Method == http.MethodDelete && resp.StatusCode < 300:
		delete(u.open, req.URL.Path) // done
	case (req.Method == http.MethodPost || req.Method == http.MethodPatch) && resp.StatusCode == http.StatusAccepted,
		req.Method == http.MethodPatch && resp.StatusCode == http.StatusNoContent:
		loc, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			break
		}
		if req.Method == http.MethodPatch {
			delete(u.open, req.URL.Path)
		}
		u.open[loc.Path] = session{url: loc.String(), auth: req.Header.Get("Authorization")}
	}
	return resp, nil
}

// cancel deletes the upload sessions still open, ignoring errors: a
// registry that refuses keeps them until it purges them, as it would have.
func (u *uploads) cancel(ctx context.Context) {
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer stop()
	u.mu.Lock()
	open := u.open
	u.open = map[string]session{}
	u.mu.Unlock()
	for _, s := range open {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.url, nil)
		if err != nil {
			continue
		}
		if s.auth != "" {
			req.Header.Set("Authorization", s.auth)
		}
		if resp, err := u.inner.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
}
