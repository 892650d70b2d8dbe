package recipes_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// rcScript runs dist/jailimg-jail ACTION for the jail name configured by
// conf, and returns its output and exit code.
func rcScript(t *testing.T, name, conf, action string) (string, int) {
	t.Helper()
	cmd := exec.Command("../dist/jailimg-jail", action)
	cmd.Env = append(os.Environ(), "JAILIMG_NAME="+name, "JAILIMG_CONF="+conf)
	// A service that kept our pipes open would hang Run: fail instead.
	cmd.WaitDelay = time.Minute
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// waitPort polls, a bounded number of times, until the port accepts TCP
// connections on 127.0.0.1.
func waitPort(t *testing.T, port int) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for try := 0; try < 300; try++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not listening after 300 tries", addr)
}

// syslogHost is a syslog socket the test owns, as the host's /dev/log.
type syslogHost struct {
	path string
	conn *net.UnixConn
}

// listenSyslog binds a datagram socket in a fresh directory.
func listenSyslog(t *testing.T) *syslogHost {
	t.Helper()
	path := t.TempDir() + "/log"
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &syslogHost{path: path, conn: conn}
}

// wantLine reads messages until one holds tag and text, failing the test
// when none has arrived after a bounded number of reads.
func (h *syslogHost) wantLine(t *testing.T, tag, text string) {
	t.Helper()
	buf := make([]byte, 4096)
	var seen []string
	for i := 0; i < 100; i++ {
		h.conn.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := h.conn.Read(buf)
		if err != nil {
			break
		}
		if msg := buf[:n]; bytes.Contains(msg, []byte(tag)) && bytes.Contains(msg, []byte(text)) {
			return
		}
		seen = append(seen, string(buf[:n]))
	}
	t.Errorf("no syslog message with %q and %q; got %q", tag, text, seen)
}
