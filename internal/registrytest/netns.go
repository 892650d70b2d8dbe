package registrytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
	"golang.org/x/sys/unix"
)

// Network is a private network for tests of registries that are not on
// loopback: two network namespaces, Server and Client, joined by a veth
// pair whose addresses (IPv4 from 10.0.0.0/8, IPv6 from fd00::/8) exist
// only inside them. Nothing is added to the test's own namespace, and no
// packet can leave the machine: the namespaces have no other link.
type Network struct {
	Server, Client string // namespace names (ip netns)
	// ServerIPv4 is an RFC 1918 address, which go-containerregistry's
	// own rule speaks plain HTTP to.
	ServerIPv4, ClientIPv4 string
	// ServerIPv6 is a unique local address, which it does not.
	ServerIPv6, ClientIPv6 string
}

// NewNetwork creates a Network with ip(8) and removes it at cleanup (which
// removes the veth pair with it). It needs root and iproute2.
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	testutil.NeedRoot(t, "creating network namespaces")
	testutil.NeedTool(t, "ip")
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b)
	n := &Network{
		Server: "jailimg-" + id + "-srv", Client: "jailimg-" + id + "-cli",
		ServerIPv4: "10.213.7.1", ClientIPv4: "10.213.7.2",
		ServerIPv6: "fd6a:696c:696d::1", ClientIPv6: "fd6a:696c:696d::2",
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{n.Server, n.Client} {
		ip("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
		ip("-n", ns, "link", "set", "lo", "up")
	}
	vs, vc := "js"+id, "jc"+id // at most 15 bytes
	ip("link", "add", vs, "netns", n.Server, "type", "veth", "peer", "name", vc, "netns", n.Client)
	for _, end := range []struct{ ns, dev, v4, v6 string }{
		{n.Server, vs, n.ServerIPv4, n.ServerIPv6},
		{n.Client, vc, n.ClientIPv4, n.ClientIPv6},
	} {
		ip("-n", end.ns, "addr", "add", end.v4+"/24", "dev", end.dev)
		ip("-n", end.ns, "addr", "add", end.v6+"/64", "dev", end.dev, "nodad")
		ip("-n", end.ns, "link", "set", end.dev, "up")
	}
	return n
}

// Command returns cmd to run name with args inside the Client namespace.
func (n *Network) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Client, name}, args...)...)
}

// inNetNS runs f on an OS thread moved into the network namespace netns,
// so that the sockets f makes are in it. The thread is never used again:
// it ends with the goroutine, still locked.
func inNetNS(netns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread exits with the goroutine
		fd, err := unix.Open("/run/netns/"+netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("opening network namespace %s: %w", netns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			done <- fmt.Errorf("entering network namespace %s: %w", netns, err)
			return
		}
		done <- f()
	}()
	return <-done
}
