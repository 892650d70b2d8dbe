package registry

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1":                true,
		"127.0.0.1:5000":           true,
		"127.3.2.1:443":            true,
		"[::1]:5000":               true,
		"::1":                      true,
		"[::ffff:127.0.0.1]:5000":  true,
		"localhost":                true,
		"LocalHost:5000":           true,
		"10.0.0.1:5000":            false,
		"172.16.0.1":               false,
		"192.168.1.1:5000":         false,
		"[fd00::1]:5000":           false,
		"[fe80::1%25lo]:5000":      false,
		"registry.localhost:5000":  false,
		"foo.local":                false,
		"127.0.0.1.nip.io":         false,
		"localhost.example.com":    false,
		"registry.example.com:443": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestHTTPSGuard checks the rule on requests, without a network: plain
// HTTP to a host that is not loopback is refused unsent, an HTTPS request
// answered in plain HTTP is reported as such (and explains the operation's
// failure), loopback hosts and insecure pass.
func TestHTTPSGuard(t *testing.T) {
	var sent []string
	plainServer := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String())
		if r.URL.Scheme == "https" {
			return nil, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'H', 'T', 'T', 'P', '/'}}
		}
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	for _, tc := range []struct {
		url      string
		insecure bool
		sent     bool
		answered bool // the error says the registry answered in plain HTTP
	}{
		{"http://10.0.0.1:5000/v2/", false, false, false},
		{"http://[fd00::1]:5000/v2/", false, false, false},
		{"http://storage.example.com/blob", false, false, false},
		{"https://10.0.0.1:5000/v2/", false, true, true},
		{"http://127.0.0.2:5000/v2/", false, true, false},
		{"http://localhost:5000/v2/", false, true, false},
		{"http://10.0.0.1:5000/v2/", true, true, false},
	} {
		sent = nil
		g := &httpsGuard{inner: plainServer, insecure: tc.insecure}
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, err := g.RoundTrip(req)
		if (len(sent) == 1) != tc.sent {
			t.Errorf("%s (insecure %v): sent %v, want sent %v", tc.url, tc.insecure, sent, tc.sent)
		}
		var pe *PlainHTTPError
		switch {
		case tc.sent && !tc.answered:
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("%s (insecure %v): %v, want the response", tc.url, tc.insecure, err)
			}
		case !errors.As(err, &pe) || pe.Answered != tc.answered || !strings.Contains(err.Error(), "--insecure"):
			t.Errorf("%s: %v, want a *PlainHTTPError (answered %v) naming --insecure", tc.url, err, tc.answered)
		}
		other := errors.New("GET https://10.0.0.1:5000/v2/: some failure; GET http://10.0.0.1:5000/v2/: another")
		if got := g.explain(other); tc.answered != (got != other) {
			t.Errorf("%s: explain(%v) = %v", tc.url, other, got)
		}
	}
}
