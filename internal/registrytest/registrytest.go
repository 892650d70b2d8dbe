package registrytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Option configures Start.
type Option func(*options)

type options struct {
	user, password string
	tls            bool
	netns, ip      string
}

// WithBasicAuth makes the registry require user and password through an
// htpasswd file (bcrypt). Default: no authentication.
func WithBasicAuth(user, password string) Option {
	return func(o *options) { o.user, o.password = user, password }
}

// WithTLS makes the registry serve HTTPS with a self-signed certificate for
// its IP address (127.0.0.1) and localhost, written to CAFile. Default:
// plain HTTP.
func WithTLS() Option {
	return func(o *options) { o.tls = true }
}

// InNetNS runs the registry inside the network namespace netns (see
// NewNetwork), listening on ip port 5000; its certificate, WithTLS, is for
// ip. Default: the test's own namespace, on 127.0.0.1.
func InNetNS(netns, ip string) Option {
	return func(o *options) { o.netns, o.ip = netns, ip }
}

// Registry is a running docker-registry.
type Registry struct {
	// Addr is 127.0.0.1:PORT, or IP:5000 InNetNS ([IP]:5000 for IPv6).
	Addr string
	// Dir is the storage root directory.
	Dir string
	// CAFile is the PEM certificate the registry serves, with WithTLS.
	CAFile string

	t       testing.TB
	bin     string
	config  string
	tls     bool
	netns   string
	workDir string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *syncBuffer
}

// Start runs a registry for the test and stops it at cleanup.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	work := t.TempDir()
	r := &Registry{t: t, bin: binary(t), Dir: filepath.Join(work, "storage"), workDir: work, tls: o.tls, netns: o.netns}
	if err := os.Mkdir(r.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ip := "127.0.0.1"
	if r.netns != "" {
		ip, r.Addr = o.ip, net.JoinHostPort(o.ip, "5000")
	} else {
		r.Addr = freeAddr(t)
	}
	c := Config{Storage: r.Dir, Addr: r.Addr, AccessLog: true}
	if o.tls {
		c.CertFile, c.KeyFile = selfSigned(t, work, net.ParseIP(ip))
		r.CAFile = c.CertFile
	}
	if o.user != "" {
		c.Htpasswd = htpasswd(t, work, o.user, o.password)
	}
	r.config = filepath.Join(work, "config.yml")
	if err := WriteConfig(r.config, c); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.Stop)
	return r
}

// Ref returns the reference of repo:tag (or repo@digest) in this registry.
func (r *Registry) Ref(repoTag string) string { return r.Addr + "/" + repoTag }

// BlobData returns the storage file holding the blob with the digest
// "sha256:HEX".
func (r *Registry) BlobData(digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(r.Dir, "docker/registry/v2/blobs/sha256", hex[:2], hex, "data")
}

// Stop kills the registry (SIGKILL, no graceful shutdown) and waits for it.
// Stopping a stopped registry does nothing.
func (r *Registry) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Restart stops the registry if it runs and starts it again on the same
// address and storage.
func (r *Registry) Restart() {
	r.Stop()
	r.start()
}

// BlobGETs counts the GET requests for the blob with the digest
// "sha256:HEX", in any repository, in the registry's access log since it
// was last started: how a test tells that a blob was, or was not, fetched.
func (r *Registry) BlobGETs(digest string) int {
	n := 0
	for _, line := range strings.Split(r.Log(), "\n") {
		if _, req, ok := strings.Cut(line, `"GET /v2/`); ok && strings.Contains(req, "/blobs/"+digest+" ") {
			n++
		}
	}
	return n
}

// Log returns what the registry wrote to stdout and stderr: warnings, and
// the access log (combined log format), one line per request.
func (r *Registry) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log == nil {
		return ""
	}
	return r.log.String()
}

func (r *Registry) start() {
	r.t.Helper()
	r.mu.Lock()
	cmd := exec.Command(r.bin, "serve", r.config)
	if r.netns != "" {
		cmd = exec.Command("ip", "netns", "exec", r.netns, r.bin, "serve", r.config) // ip execs the registry: Kill reaches it
	}
	r.log = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		r.t.Fatalf("starting docker-registry: %v", err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(r.done)
	done := r.done
	r.mu.Unlock()
	if err := r.waitReady(done); err != nil {
		r.Stop()
		r.t.Fatalf("docker-registry on %s: %v\n%s", r.Addr, err, r.Log())
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writes and Log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitReady polls GET /v2/ until the registry answers (200, or 401 with
// auth) or its process exits. It sets no overall deadline: a hung registry
// is left to go test's -timeout. InNetNS, it polls from inside the
// namespace (inNetNS).
func (r *Registry) waitReady(exited <-chan struct{}) error {
	if r.netns == "" {
		return r.poll(exited, nil)
	}
	return inNetNS(r.netns, func() error {
		// Sockets belong to the namespace of the thread that makes them:
		// dial here, on the thread in the namespace, not in the transport.
		return r.poll(exited, func() (net.Conn, error) { return net.DialTimeout("tcp", r.Addr, 2*time.Second) })
	})
}

// poll is waitReady's loop. With dial, each try goes over a connection
// dial makes.
func (r *Registry) poll(exited <-chan struct{}, dial func() (net.Conn, error)) error {
	scheme := "http"
	tr := &http.Transport{}
	if r.tls {
		scheme = "https"
		pool := x509.NewCertPool()
		pem, _ := os.ReadFile(r.CAFile)
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	for {
		client := &http.Client{Timeout: 2 * time.Second, Transport: tr}
		var err error
		if dial != nil {
			var conn net.Conn
			if conn, err = dial(); err == nil {
				t := tr.Clone()
				t.DialContext = func(context.Context, string, string) (net.Conn, error) { return conn, nil }
				t.DisableKeepAlives = true
				client.Transport = t
			}
		}
		var resp *http.Response
		if err == nil {
			resp, err = client.Get(scheme + "://" + r.Addr + "/v2/")
		}
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("exited early (last poll: %v)", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freeAddr returns 127.0.0.1:PORT with a port free a moment ago.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
