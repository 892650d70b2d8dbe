package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jailimg/jailimg/internal/imagetest"
	"github.com/jailimg/jailimg/internal/testutil"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/layout"
)

// poller asks url every 50 ms, as a monitoring client would, and keeps
// every answer: the page's body, or "" for a failed request.
type poller struct {
	url    string
	mu     sync.Mutex
	got    []string
	cancel context.CancelFunc
	done   chan struct{}
}

func startPolling(url string) *poller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{url: url, cancel: cancel, done: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			body := ""
			if resp, err := client.Get(p.url); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					body = string(b)
				}
			}
			p.mu.Lock()
			p.got = append(p.got, body)
			p.mu.Unlock()
		}
	}()
	return p
}

// saw reports whether an answer held want.
func (p *poller) saw(want string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.got, func(b string) bool { return strings.Contains(b, want) })
}

// stop ends the polling and returns the number of requests and of failures.
func (p *poller) stop() (requests, failed int) {
	p.cancel()
	<-p.done
	for _, b := range p.got {
		if b == "" {
			failed++
		}
	}
	return len(p.got), failed
}

// TestRCScriptUpgrade upgrades nginx through dist/jailimg-jail upgrade,
// each time to a new image pushed to the registry SOURCE names, while a
// client asks it for its page every 50 ms. The first upgrade restarts the
// service (UPGRADE's default): the new release serves. The five next ones,
// with UPGRADE=overlap and nginx listening with reuseport, start the new
// generation beside the old one: at most one request of each may fail.
// After them, the cache holds the blobs of two images: the live one and the
// previous one. (Before, restart downloaded and unpacked with the service
// stopped, and the cache kept every image it was ever given.)
func TestRCScriptUpgrade(t *testing.T) {
	needRoot(t)
	testutil.NeedFile(t, "/usr/sbin/nginx", "nginx-light")
	ref := imagetest.InProcess(t) + "/jails/nginx:1.22"
	recipe := copyRecipe(t, "nginx.yaml")
	conf := filepath.Join(filepath.Dir(recipe), "nginx", "nginx.conf")
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	// A port of its own (the recipes' tests run nginx on 8080), that two
	// nginx can listen on at once, as docs/boot.md says for UPGRADE=overlap.
	if err := os.WriteFile(conf, []byte(strings.Replace(string(raw), "127.0.0.1:8080", "127.0.0.1:8095 reuseport", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	type built struct {
		digest string
		blobs  []string
	}
	release := func(n int) built {
		page := fmt.Sprintf("<!doctype html><title>jailed</title><p>release %d</p>\n", n)
		if err := os.WriteFile(filepath.Join(filepath.Dir(recipe), "nginx", "www", "index.html"), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		mustJailimg(t, "", nil, "-q", "build", "-o", out, recipe)
		mustJailimg(t, "", nil, "-q", "push", out, ref)
		return built{layoutDigest(t, out, ""), imagetest.BlobFiles(t, out)}
	}

	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	conf = filepath.Join(dir, "nginx.conf")
	writeConf := func(upgrade string) {
		body := strings.Join([]string{"JAILIMG=" + jailimgBin, "SOURCE=" + ref, "CACHE=" + cache,
			"TARGET=" + filepath.Join(dir, "jail"), "PIDFILE=" + filepath.Join(dir, "nginx.pid"),
			"LOGFILE=" + filepath.Join(dir, "nginx.log"), "STATE=" + filepath.Join(dir, "state"), "UPGRADE=" + upgrade, ""}, "\n")
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("restart")
	releases := []built{release(0)}
	mustJailimg(t, "", nil, "-q", "pull", ref, cache)
	if r := rcScript(t, conf, "start"); r.code != 0 {
		t.Fatalf("start: exit %d\n%s", r.code, r.stderr)
	}
	t.Cleanup(func() { rcScript(t, conf, "stop") })

	for n := 1; n <= 6; n++ {
		mode := "overlap"
		if n == 1 {
			mode = "restart"
		}
		writeConf(mode)
		releases = append(releases, release(n))
		p := startPolling("http://127.0.0.1:8095/")
		for !p.saw(fmt.Sprintf("release %d", n-1)) {
			time.Sleep(50 * time.Millisecond) // the service answers before the upgrade
		}
		r := rcScript(t, conf, "upgrade")
		for r.code == 0 && !p.saw(fmt.Sprintf("release %d", n)) {
			time.Sleep(50 * time.Millisecond)
		}
		requests, failed := p.stop()
		t.Logf("upgrade %d (%s): %d requests, %d failed\n%s", n, mode, requests, failed, r.stderr)
		if r.code != 0 || mode == "overlap" && failed > 1 {
			t.Fatalf("upgrade %d (%s): exit %d, %d of %d requests failed; want 0 and at most one", n, mode, r.code, failed, requests)
		}
	}

	want := slices.Concat(releases[5].blobs, releases[6].blobs)
	slices.Sort(want)
	want = slices.Compact(want)
	if got := imagetest.BlobFiles(t, cache); !slices.Equal(got, want) {
		t.Errorf("the cache after six upgrades holds %d blobs:\n%q\nwant the %d of the last two images:\n%q", len(got), got, len(want), want)
	}
	for tag, r := range map[string]built{"1.22": releases[6], layout.PreviousTag("1.22"): releases[5]} {
		if got := layoutDigest(t, cache, tag); got != r.digest {
			t.Errorf("the cache's image %s is %s, want %s", tag, got, r.digest)
		}
	}
}

// TestRCScriptReload runs dist/jailimg-jail reload, the unit's ExecReload,
// with a systemctl on PATH that records its arguments: a new image in the
// registry goes live and the unit is restarted without waiting; with the
// image live already, nothing is restarted.
func TestRCScriptReload(t *testing.T) {
	needRoot(t)
	ref := imagetest.InProcess(t) + "/jails/bash:5.2"
	recipe := copyRecipe(t, "bash.yaml")
	raw, err := os.ReadFile(recipe)
	if err != nil {
		t.Fatal(err)
	}
	push := func(version string) string {
		if err := os.WriteFile(recipe, []byte(strings.Replace(string(raw), `version: "5.2"`, `version: "`+version+`"`, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		mustJailimg(t, "", nil, "-q", "build", "-o", out, recipe)
		mustJailimg(t, "", nil, "-q", "push", out, ref)
		return layoutDigest(t, out, "")
	}
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\necho \"$*\" >>"+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	dir := t.TempDir()
	conf := filepath.Join(dir, "bash.conf")
	if err := os.WriteFile(conf, []byte("JAILIMG="+jailimgBin+"\nSOURCE="+ref+"\nTARGET="+filepath.Join(dir, "jail")+"\nSTATE="+filepath.Join(dir, "state")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	push("5.2")
	if r := rcScript(t, conf, "unpack"); r.code != 0 {
		t.Fatalf("unpack: exit %d\n%s", r.code, r.stderr)
	}
	for _, step := range []struct {
		version, want string // want: systemctl's arguments, "" for no call
	}{{"5.3", "--no-block restart jailimg@bash.service\n"}, {"", ""}} {
		digest := ""
		if step.version != "" {
			digest = push(step.version)
		}
		os.Remove(calls)
		r := rcScript(t, conf, "reload")
		got, _ := os.ReadFile(calls)
		if r.code != 0 || string(got) != step.want {
			t.Fatalf("reload: exit %d, systemctl %q; want 0 and %q\n%s", r.code, got, step.want, r.stderr)
		}
		if b, err := bundle.Open(filepath.Join(dir, "jail")); err != nil || digest != "" && b.Meta.ManifestDigest != digest {
			t.Errorf("after reload the live image: %v, %v; want %s", b, err, digest)
		}
	}
}
