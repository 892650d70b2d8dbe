package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/layout"
)

// uploadProxy stands between jailimg and a registry: it passes every
// request on but holds each blob PATCH (an upload in progress) until its
// client goes away, and records the upload sessions opened and deleted.
type uploadProxy struct {
	next    http.Handler
	patched chan struct{} // one value per PATCH arrived

	mu      sync.Mutex
	opened  []string // paths of the sessions the registry opened (POST 202)
	deleted []string // paths of the sessions the registry deleted (DELETE 204)
}

func (p *uploadProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPatch {
		p.patched <- struct{}{}
		// The upload hangs until jailimg gives it up. (The server notices
		// a client gone only once the body is read.)
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	p.next.ServeHTTP(rec, r)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && rec.status == http.StatusAccepted:
		if loc, err := url.Parse(rec.Header().Get("Location")); err == nil {
			p.opened = append(p.opened, loc.Path)
		}
	case r.Method == http.MethodDelete && rec.status == http.StatusNoContent:
		p.deleted = append(p.deleted, r.URL.Path)
	}
}

// statusRecorder keeps the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// TestPushInterruptCancelsUploads interrupts jailimg push (SIGINT, as
// Ctrl-C does) while a layer is being uploaded to docker-registry, with
// basic auth: jailimg exits 130 and deletes every upload session it had
// opened, so the registry holds none. (go-containerregistry leaves them
// open until the registry purges them.)
func TestPushInterruptCancelsUploads(t *testing.T) {
	work, _ := builtBash(t)
	reg := registrytest.Start(t, registrytest.WithBasicAuth("ci", "secret"))
	target, err := url.Parse("http://" + reg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// Every blob (the layers and the config) is being uploaded when
	// jailimg is interrupted, so that no session is opened without jailimg
	// knowing it (a POST whose answer it never read).
	img, err := layout.Image(filepath.Join(work, "out"), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	blobs := len(m.Layers) + 1
	if blobs > 4 {
		t.Fatalf("%d blobs: more than go-containerregistry uploads at once; update the test", blobs)
	}
	p := &uploadProxy{next: httputil.NewSingleHostReverseProxy(target), patched: make(chan struct{}, blobs)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	cmd := exec.Command(jailimgBin, "-q", "push", "out", host+"/jails/bash:5.2")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), dockerConfig(t, host, "ci", "secret"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range blobs {
		<-p.patched
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("push interrupted: %v, want exit 130\n%s", err, stderr.String())
	}
	p.mu.Lock()
	opened, deleted := p.opened, p.deleted
	p.mu.Unlock()
	if len(opened) == 0 || len(deleted) != len(opened) {
		t.Errorf("upload sessions opened %q, deleted %q: want every one deleted", opened, deleted)
	}
	// docker-registry leaves a cancelled session's hashstates behind, not
	// its data and startedat.
	left, _ := filepath.Glob(filepath.Join(reg.Dir, "docker/registry/v2/repositories/jails/bash/_uploads/*/startedat"))
	if len(left) != 0 {
		t.Errorf("the registry still holds upload sessions: %q", left)
	}
}
