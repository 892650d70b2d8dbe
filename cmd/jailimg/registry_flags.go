package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/jailimg/jailimg/pkg/attach"
	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/source"
	"github.com/spf13/pflag"
)

// registryFlags are the flags of every command that talks to a registry:
// push, pull, build --push, and inspect, unpack and verify with a registry
// SOURCE.
type registryFlags struct {
	insecure      bool
	caFile        string
	username      string
	passwordStdin bool
	quietProgress bool

	password string // read from stdin once, for every registry the command talks to
}

// AddRegistryFlags adds the registry flags to fs.
func (r *registryFlags) AddRegistryFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&r.insecure, "insecure", false, "allow plain HTTP to the registry (else only loopback ones may use it: 127.0.0.0/8, ::1, localhost)")
	fs.StringVar(&r.caFile, "ca-file", "", "PEM `FILE` of an extra CA to trust for TLS registries")
	fs.StringVar(&r.username, "username", "", "registry user name (default: the docker config's credentials)")
	fs.BoolVar(&r.passwordStdin, "password-stdin", false, "read the registry password from stdin (needs --username)")
	fs.BoolVar(&r.quietProgress, "quiet-progress", false, "show no transfer progress (also with -q)")
}

// parseRef parses a registry reference argument.
func (r *registryFlags) parseRef(s string) (name.Reference, error) {
	ref, err := registry.ParseReference(s)
	var noHost *registry.NoHostError
	switch {
	case errors.As(err, &noHost):
		return nil, usageError{err} // its message quotes s and says a host is needed
	case err != nil:
		return nil, usageError{fmt.Errorf("reference %q: %w", s, err)}
	}
	return ref, nil
}

// transport returns the HTTP transport: go-containerregistry's default, with
// --ca-file's CA added to the system roots.
func (r *registryFlags) transport() (http.RoundTripper, error) {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	if r.caFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(r.caFile)
	if err != nil {
		return nil, usageError{fmt.Errorf("--ca-file: %w", err)}
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageError{fmt.Errorf("--ca-file %s: no PEM certificate in it", r.caFile)}
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// auth returns --username and the password read from stdin, or nil for the
// docker config keychain.
func (r *registryFlags) auth(stdin io.Reader) (authn.Authenticator, error) {
	switch {
	case r.username == "" && !r.passwordStdin:
		return nil, nil
	case r.username == "" || !r.passwordStdin:
		return nil, usageError{errors.New("--username and --password-stdin go together")}
	}
	if r.password == "" {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<16))
		if err != nil {
			return nil, fmt.Errorf("reading the password from stdin: %w", err)
		}
		if r.password = strings.TrimRight(string(b), "\r\n"); r.password == "" {
			return nil, usageError{errors.New("--password-stdin: stdin is empty")}
		}
	}
	return &authn.Basic{Username: r.username, Password: r.password}, nil
}

// options returns the options every registry operation takes: the
// transport, the credentials, and --insecure.
func (r *registryFlags) options(stdin io.Reader) ([]registry.Option, error) {
	t, err := r.transport()
	if err != nil {
		return nil, err
	}
	a, err := r.auth(stdin)
	if err != nil {
		return nil, err
	}
	opts := []registry.Option{registry.WithTransport(t)}
	if a != nil {
		opts = append(opts, registry.WithAuth(a))
	}
	if r.insecure {
		opts = append(opts, registry.WithInsecure())
	}
	return opts, nil
}

// imageOptions returns the options for registry.Push and registry.Pull, with a
// progress reporter on stderr for the verb ("pushing", "pulling") unless
// quiet; call the returned done when the transfer is over.
func (r *registryFlags) imageOptions(stdin io.Reader, verb string) (opts []registry.Option, done func(), err error) {
	if opts, err = r.options(stdin); err != nil {
		return nil, nil, err
	}
	done = func() {}
	switch {
	case r.quietProgress || global.quiet:
	case isTerminal(os.Stderr):
		b := newBars(os.Stderr, verb)
		opts = append(opts, registry.WithProgress(b.update))
		done = b.finish
	default:
		p := newProgressPrinter(os.Stderr, verb)
		opts = append(opts, registry.WithProgress(p.update))
	}
	return opts, done, nil
}

// openSource opens a SOURCE argument: a layout as it is, a registry
// reference with these flags' transport and credentials.
func (r *registryFlags) openSource(ctx context.Context, arg string, stdin io.Reader) (v1.Image, error) {
	_, img, err := r.open(ctx, arg, stdin)
	return img, err
}

// open is openSource, also returning the parsed SOURCE.
func (r *registryFlags) open(ctx context.Context, arg string, stdin io.Reader) (source.Source, v1.Image, error) {
	src, err := source.Parse(arg)
	if errors.Is(err, fs.ErrNotExist) {
		return src, nil, err // no such layout, and no registry host: bad input
	} else if err != nil {
		return src, nil, usageError{err}
	}
	var opts []registry.Option
	if src.Ref != nil {
		if opts, err = r.options(stdin); err != nil {
			return src, nil, err
		}
	}
	img, err := src.Image(ctx, opts...)
	return src, img, err
}

// store returns where the images attached to src's image (signatures,
// attestations) are: beside it in its layout, or in its repository,
// spoken to with these flags.
func (r *registryFlags) store(src source.Source, stdin io.Reader) (attach.Store, error) {
	if src.Ref == nil {
		return attach.Layout(src.Layout), nil
	}
	opts, err := r.options(stdin)
	if err != nil {
		return nil, err
	}
	return attach.Registry(src.Ref.Context(), opts...), nil
}

// progressPrinter logs transfer progress on stderr, where it is not a
// terminal: a line every few seconds, and one when the transfer is done.
type progressPrinter struct {
	verb  string
	start time.Time

	mu   sync.Mutex
	last time.Time
}

func newProgressPrinter(_ *os.File, verb string) *progressPrinter {
	return &progressPrinter{verb: verb, start: time.Now()}
}

func (p *progressPrinter) update(u registry.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if u.Total == 0 || now.Sub(p.last) < 2*time.Second && u.Done < u.Total {
		return
	}
	p.last = now
	rate := float64(u.Done) / max(now.Sub(p.start).Seconds(), 0.001)
	logger().Info(fmt.Sprintf("%s %s / %s (%s/s)", p.verb, humanBytes(u.Done), humanBytes(u.Total), humanBytes(int64(rate))))
}

// humanBytes writes n with an SI unit: 0 B, 999 B, 1.5 kB, 12.0 MB.
func humanBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	f, units := float64(n), []string{"kB", "MB", "GB", "TB"}
	for i := range units {
		f /= 1000
		if f < 1000 || i == len(units)-1 {
			return fmt.Sprintf("%.1f %s", f, units[i])
		}
	}
	return ""
}
