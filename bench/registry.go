package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jailimg/jailimg/internal/registrytest"
)

// registry is Debian's docker-registry (distribution 2.8) serving plain HTTP
// on 127.0.0.1, its storage under the work directory, with no blob
// descriptor cache: what it holds is what is on disk.
type registry struct {
	Addr    string
	dir     string
	config  string
	cmd     *exec.Cmd
	logFile *os.File
}

func startRegistry(dir string) (*registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	r := &registry{Addr: addr, dir: dir, config: filepath.Join(dir, "config.yml")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := registrytest.WriteConfig(r.config, registrytest.Config{Storage: filepath.Join(dir, "storage"), Addr: addr}); err != nil {
		return nil, err
	}
	return r, r.start()
}

func (r *registry) start() error {
	var err error
	r.logFile, err = os.OpenFile(filepath.Join(r.dir, "registry.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	r.cmd = exec.Command("docker-registry", "serve", r.config)
	r.cmd.Stdout, r.cmd.Stderr = r.logFile, r.logFile
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("docker-registry: %w", err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for range 500 {
		resp, err := client.Get("http://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stop()
	return fmt.Errorf("docker-registry on %s: not ready after 10 s (see %s/registry.log)", r.Addr, r.dir)
}

func (r *registry) stop() {
	if r.cmd != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
	if r.logFile != nil {
		r.logFile.Close()
	}
}

// wipe restarts the registry with empty storage, for a first push.
func (r *registry) wipe() error {
	r.stop()
	if err := os.RemoveAll(filepath.Join(r.dir, "storage")); err != nil {
		return err
	}
	return r.start()
}

func (r *registry) ref(repoTag string) string { return r.Addr + "/" + repoTag }
