package syslog

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, body string
		pri      int
	}{
		{"<27>Jun  1 12:00:00 nginx: oops", "nginx: oops", 27},
		{"<30>Jun 11 12:00:00 myhost named[12]: ready", "named[12]: ready", 30},
		{"<13>plain text", "plain text", 13},
		{"<0>Jan  1 00:00:00 kern: forged", "kern: forged", 8},
		{"<999>x", "<999>x", 13},
		{"no pri\nsecond line\x1b[31m\n", "no pri second line [31m", 13},
		{"<14>Jun  1 12:00:00 host1 not a tag", "host1 not a tag", 14},
	} {
		pri, body := parse([]byte(tc.in))
		if pri != tc.pri || string(body) != tc.body {
			t.Errorf("parse(%q) = %d, %q; want %d, %q", tc.in, pri, body, tc.pri, tc.body)
		}
	}
}

// TestRelay sends through the relay's socket to a socket the test owns:
// messages arrive re-tagged, and past the burst the excess is dropped and
// counted, with time standing still.
func TestRelay(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "log")
	host, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dest, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	clock := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	r, err := Listen("web", WithDestination(dest), WithRate(2))
	if err != nil {
		t.Fatal(err)
	}
	r.o.now = func() time.Time { return clock }
	r.bucket.last = clock
	defer r.Close()
	done := make(chan error, 1)
	go func() { done <- r.Serve() }()

	jail, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: r.Path(), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 15; i++ { // burst 10
		if _, err := jail.Write([]byte("<27>Jun  1 12:00:00 nginx: message")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	for i := 0; i < 10; i++ {
		host.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := host.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := "<27>Jun  1 12:00:00 jailimg/web: nginx: message"; string(buf[:n]) != want {
			t.Fatalf("host got %q, want %q", buf[:n], want)
		}
	}
	// The relay reads the other five, and drops them, before it is closed.
	for dropped := 0; dropped < 5; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		dropped = r.dropped
		r.mu.Unlock()
	}
	r.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, err := host.Read(buf)
	if err != nil || !bytes.Contains(buf[:n], []byte("jailimg/web: 5 messages dropped")) || !strings.HasPrefix(string(buf[:n]), "<12>") {
		t.Errorf("after the burst: %q, %v; want a user.warning line counting 5 dropped", buf[:n], err)
	}
}

// TestRelayDropReports trickles messages past the burst: the count of
// dropped messages goes out at most once a second, not before every
// message that gets a token (which would double what the jail may send).
func TestRelayDropReports(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "log")
	host, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dest, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	var mu sync.Mutex
	clock := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	r, err := Listen("web", WithDestination(dest), WithRate(2))
	if err != nil {
		t.Fatal(err)
	}
	r.o.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	r.bucket.last = clock
	defer r.Close()
	go r.Serve()
	jail, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: r.Path(), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(text string) {
		t.Helper()
		if _, err := jail.Write([]byte("<14>" + text)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 4096)
	next := func() string {
		t.Helper()
		host.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := host.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	waitDropped := func(want int) {
		for {
			r.mu.Lock()
			n := r.dropped
			r.mu.Unlock()
			if n >= want {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := 0; i < 11; i++ { // burst 10, one dropped
		send("burst")
		if i < 10 {
			next()
		}
	}
	waitDropped(1)
	advance(500 * time.Millisecond) // one token
	send("a")
	if got := next(); !strings.Contains(got, "1 messages dropped") {
		t.Fatalf("first report: %q", got)
	}
	if got := next(); !strings.HasSuffix(got, ": a") {
		t.Fatalf("after the report: %q, want a", got)
	}
	send("b") // no token
	waitDropped(1)
	advance(500 * time.Millisecond) // one token, half a second after the report
	send("c")
	if got := next(); !strings.HasSuffix(got, ": c") {
		t.Errorf("half a second after a report: %q, want message c and no other report", got)
	}
}
