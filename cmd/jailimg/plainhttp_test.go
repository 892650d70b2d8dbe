package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/internal/testutil"
)

// inClient runs jailimg in dir inside the network's client namespace.
func inClient(t *testing.T, n *registrytest.Network, dir string, args ...string) result {
	t.Helper()
	cmd := n.Command(jailimgBin, args...)
	cmd.Dir = dir
	var r result
	r.stdout, r.stderr, r.code = testutil.Output(t, cmd)
	return r
}

// TestPlainHTTPOnlyToLoopback runs docker-registry in plain HTTP at private
// addresses that exist only in a network namespace pair (10.213.7.1, which
// go-containerregistry's own rule speaks plain HTTP to as an RFC 1918
// address, and the unique local fd6a:696c:696d::1, where its HTTPS attempt
// fails with a TLS error), and jailimg in the other namespace.
// Without --insecure, every command that talks to a registry (push, build
// --push, pull, inspect, unpack, verify) must fail with exit 4 and say that
// plain HTTP needs --insecure, sending nothing in plain HTTP: the registry
// stores no upload, and nothing is created locally. With --insecure each
// one works. A TLS registry at the same address works without --insecure
// (--ca-file): jailimg speaks HTTPS there.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	n := registrytest.NewNetwork(t)
	work, digest := builtBash(t)
	recipe := copyRecipe(t, "bash.yaml")
	for _, ip := range []string{n.ServerIPv4, n.ServerIPv6} {
		t.Run(ip, func(t *testing.T) {
			reg := registrytest.Start(t, registrytest.InNetNS(n.Server, ip))
			ref := reg.Ref("jails/bash:5.2")
			refused := func(what string, r result) {
				t.Helper()
				t.Logf("%s: exit %d: %s", what, r.code, r.stderr)
				if r.code != exitRegistry || !strings.Contains(r.stderr, "plain HTTP") || !strings.Contains(r.stderr, "--insecure") ||
					strings.Contains(r.stderr, "tls:") || strings.Contains(r.stderr, "HTTPS client") || strings.Contains(r.stderr, `Get "`) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
					t.Errorf("%s without --insecure: exit %d, stderr %q; want %d and one line saying plain HTTP needs --insecure", what, r.code, r.stderr, exitRegistry)
				}
			}
			ok := func(what string, r result) string {
				t.Helper()
				if r.code != 0 {
					t.Fatalf("%s --insecure: exit %d\n%s", what, r.code, r.stderr)
				}
				return strings.TrimSpace(r.stdout)
			}

			refused("push", inClient(t, n, work, "-q", "push", "out", ref))
			refused("build --push", inClient(t, n, work, "-q", "build", "-o", "built", "--push", reg.Ref("jails/built:1"), recipe))
			if _, err := os.Stat(filepath.Join(reg.Dir, "docker/registry/v2/repositories")); err == nil {
				t.Error("the registry stored an upload sent in plain HTTP")
			}
			if got := ok("push", inClient(t, n, work, "-q", "push", "--insecure", "out", ref)); got != digest {
				t.Errorf("push --insecure printed %q, want %s", got, digest)
			}
			ok("build --push", inClient(t, n, work, "-q", "build", "-o", "built", "--insecure", "--push", reg.Ref("jails/built:1"), recipe))

			jail := filepath.Join(work, "jail-"+strings.ReplaceAll(ip, ":", "-"))
			pulled := filepath.Join(work, "pulled")
			for _, c := range []struct {
				name    string
				args    []string
				creates string // what the command makes, which a refusal must not
			}{
				{"pull", []string{"pull", ref, pulled}, pulled},
				{"inspect", []string{"inspect", ref}, ""},
				{"push from the registry", []string{"push", ref, reg.Ref("jails/copy:1")}, ""},
				{"unpack", []string{"unpack", ref, jail}, jail},
				{"verify", []string{"verify", ref, jail}, ""},
			} {
				refused(c.name, inClient(t, n, work, append([]string{"-q"}, c.args...)...))
				if _, err := os.Lstat(c.creates); c.creates != "" && err == nil {
					t.Errorf("%s without --insecure created %s", c.name, c.creates)
				}
				ok(c.name, inClient(t, n, work, append([]string{"-q", c.args[0], "--insecure"}, c.args[1:]...)...))
			}
			os.RemoveAll(pulled)

			reg.Stop() // the TLS registry takes the same address
			tls := registrytest.Start(t, registrytest.InNetNS(n.Server, ip), registrytest.WithTLS())
			tlsRef := tls.Ref("jails/bash:5.2")
			ok("push over TLS", inClient(t, n, work, "-q", "push", "--ca-file", tls.CAFile, "out", tlsRef))
			if got := ok("pull over TLS", inClient(t, n, work, "-q", "pull", "--ca-file", tls.CAFile, tlsRef, "pulled-tls")); got != digest {
				t.Errorf("pull over TLS printed %q, want %s", got, digest)
			}
		})
	}
}
