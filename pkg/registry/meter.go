package registry

import (
	"io"
	"net/http"
	"strings"
	"sync"
)

// meter is an http.RoundTripper that counts blob bytes on the wire: request
// bodies sent to blob upload sessions (PATCH and PUT under /blobs/uploads/),
// credited to the digest the session commits, and response bodies received
// from GET .../blobs/DIGEST, also when the registry redirected the GET
// elsewhere (to a storage server).
type meter struct {
	inner  http.RoundTripper
	onRecv func(digest string, n int64) // called for each chunk of blob bytes received; may be nil

	mu       sync.Mutex
	sent     int64            // every upload body byte, retries included
	pending  map[string]int64 // upload session path -> bytes sent, not yet committed
	commited map[string]int64 // digest -> bytes sent in the session that committed it
}

func newMeter(inner http.RoundTripper, onRecv func(string, int64)) *meter {
	return &meter{inner: inner, onRecv: onRecv, pending: map[string]int64{}, commited: map[string]int64{}}
}

// RoundTrip implements http.RoundTripper.
func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	upload := strings.Contains(req.URL.Path, "/blobs/uploads/") && (req.Method == http.MethodPatch || req.Method == http.MethodPut)
	if upload && req.Body != nil && req.Body != http.NoBody {
		r := req.Clone(req.Context())
		r.Body = &countingBody{ReadCloser: req.Body, add: func(n int64) { m.addSent(req.URL.Path, n) }}
		req = r
	}
	resp, err := m.inner.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch {
	case upload && req.Method == http.MethodPut && resp.StatusCode/100 == 2:
		m.commit(req.URL.Path, req.URL.Query().Get("digest"))
	case req.Method == http.MethodGet && m.onRecv != nil:
		if d, ok := blobGET(req); ok {
			resp.Body = &countingBody{ReadCloser: resp.Body, add: func(n int64) { m.onRecv(d, n) }}
		}
	}
	return resp, err
}

// blobGET returns the digest of the blob a GET fetches: the last element of
// the path of the request the client first sent, before any redirect,
// when it is .../blobs/DIGEST.
func blobGET(req *http.Request) (string, bool) {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	dir, d, ok := strings.Cut(req.URL.Path, "/blobs/")
	if !ok || dir == "" || strings.Contains(d, "/") {
		return "", false
	}
	return d, true
}

func (m *meter) addSent(session string, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent += n
	m.pending[session] += n
}

func (m *meter) commit(session, digest string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commited[digest] += m.pending[session]
	delete(m.pending, session)
}

// uploaded returns the bytes sent for all blobs, less those of the sessions
// that committed one of the excluded digests (the config).
func (m *meter) uploaded(exclude ...string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.sent
	for _, d := range exclude {
		n -= m.commited[d]
	}
	return n
}

// countingBody reports the bytes read through it.
type countingBody struct {
	io.ReadCloser
	add func(int64)
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		c.add(int64(n))
	}
	return n, err
}
