package registry

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
)

// PlainHTTPError is a registry jailimg would have to speak plain HTTP to,
// which it does only with loopback hosts (127.0.0.0/8, ::1, localhost)
// unless WithInsecure is given: a registry that answered HTTPS in plain
// HTTP, or a plain-HTTP request (a redirect, a token realm) that was not
// sent.
type PlainHTTPError struct {
	Host string // host[:port]
	// Answered is set when the registry answered an HTTPS request in plain
	// HTTP; else a plain-HTTP request to Host was refused unsent.
	Answered bool
	Err      error // the underlying failure, if any
}

func (e *PlainHTTPError) Error() string {
	const rule = "jailimg speaks plain HTTP only to loopback registries (127.0.0.0/8, ::1, localhost), and to others only with --insecure"
	if e.Answered {
		return fmt.Sprintf("registry %s answers in plain HTTP, not HTTPS: %s", e.Host, rule)
	}
	return fmt.Sprintf("plain HTTP to %s refused: %s", e.Host, rule)
}

// Unwrap returns the underlying failure.
func (e *PlainHTTPError) Unwrap() error { return e.Err }

// Loopback reports whether a registry host ("host", "host:port",
// "[v6]:port") is a loopback one, which jailimg may speak plain HTTP to:
// an IP address in 127.0.0.0/8 or ::1, or the name localhost.
// go-containerregistry's own rule (name.Registry.Scheme, v0.22) also falls
// back to plain HTTP for RFC 1918 addresses (10/8, 172.16/12, 192.168/16)
// and *.localhost names, which a resolver may send anywhere; jailimg does
// not. It tries only 127.0.0.1 and [::1] of the loopback addresses, which
// jailimg extends to all of them.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// httpsGuard is the HTTP transport under every registry operation: unless
// insecure, it sends plain HTTP only to loopback hosts, refusing every
// other plain-HTTP request unsent, and it reports an HTTPS request that a
// non-loopback server answered in plain HTTP as a *PlainHTTPError, which it
// remembers: go-containerregistry tries plain HTTP beside HTTPS for some
// hosts and then reports both failures in one string, so the operation
// replaces its error with the one remembered (explain).
type httpsGuard struct {
	inner    http.RoundTripper
	insecure bool
	answered atomic.Pointer[PlainHTTPError]
}

// RoundTrip implements http.RoundTripper.
func (g *httpsGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.insecure || Loopback(req.URL.Host) {
		return g.inner.RoundTrip(req)
	}
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	resp, err := g.inner.RoundTrip(req)
	if err != nil && plainHTTPAnswer(err) {
		pe := &PlainHTTPError{Host: req.URL.Host, Answered: true, Err: err}
		g.answered.CompareAndSwap(nil, pe)
		return nil, pe
	}
	return resp, err
}

// plainHTTPAnswer reports whether err is a TLS handshake that got an HTTP
// response instead (net/http's test for http.ErrSchemeMismatch).
func plainHTTPAnswer(err error) bool {
	var rh tls.RecordHeaderError
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/"
}

// explain returns err, or, when a registry answered in plain HTTP during
// the operation, a *PlainHTTPError saying so, with err as its cause: the
// failure the user can act on, in place of go-containerregistry's report
// of every scheme it tried. A plain-HTTP request refused without such an
// answer (go-containerregistry's fallback when HTTPS failed otherwise, a
// redirect) stays in err as it is, beside the failure that caused it.
func (g *httpsGuard) explain(err error) error {
	pe := g.answered.Load()
	if err == nil || pe == nil {
		return err
	}
	if e, ok := err.(*PlainHTTPError); ok {
		return e
	}
	return &PlainHTTPError{Host: pe.Host, Answered: true, Err: err}
}

// insecureRef returns ref marked insecure, so that go-containerregistry
// falls back to plain HTTP when HTTPS fails, when jailimg may speak plain
// HTTP to its registry (a loopback one, or any with insecure); else ref
// unchanged, and the guard refuses what plain HTTP go-containerregistry's
// own rule would try.
func insecureRef(ref name.Reference, insecure bool) name.Reference {
	ctx := ref.Context()
	if !insecure && !Loopback(ctx.RegistryStr()) {
		return ref
	}
	reg, err := name.NewRegistry(ctx.RegistryStr(), name.Insecure)
	if err != nil {
		return ref
	}
	repo := reg.Repo(ctx.RepositoryStr())
	switch r := ref.(type) {
	case name.Tag:
		return repo.Tag(r.TagStr())
	case name.Digest:
		return repo.Digest(r.DigestStr())
	}
	return ref
}
