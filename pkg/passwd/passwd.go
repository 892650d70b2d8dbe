package passwd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jailimg/jailimg/internal/readfile"
)

// MaxSize is the largest passwd, group or shadow file read.
const MaxSize = 4 << 20

// Opener opens a file of the jail by its jail path, e.g. "/etc/passwd".
// Implementations must not block on FIFOs (open with O_NONBLOCK) and must
// keep symbolic links inside the jail.
type Opener func(name string) (*os.File, error)

// Entry is one line of /etc/passwd.
type Entry struct {
	Name     string
	Password string
	UID      uint32
	GID      uint32
	Gecos    string
	Home     string
	Shell    string
	// Line is the 1-based line number the entry came from.
	Line int
}

// group is one line of /etc/group.
type group struct {
	Name    string
	GID     uint32
	Members []string
	Line    int
}

// ReadFile opens name with open and returns its bytes, refusing anything but
// a regular file of at most MaxSize bytes.
func ReadFile(open Opener, name string) ([]byte, error) {
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readfile.Regular(f, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// ParsePasswd parses the contents of an /etc/passwd file.
func ParsePasswd(b []byte) ([]Entry, error) {
	var out []Entry
	err := eachLine(b, 7, func(n int, f []string) error {
		uid, err := parseID(f[2])
		if err != nil {
			return fmt.Errorf("line %d: uid: %w", n, err)
		}
		gid, err := parseID(f[3])
		if err != nil {
			return fmt.Errorf("line %d: gid: %w", n, err)
		}
		out = append(out, Entry{Name: f[0], Password: f[1], UID: uid, GID: gid,
			Gecos: f[4], Home: f[5], Shell: f[6], Line: n})
		return nil
	})
	return out, err
}

// parseGroup parses the contents of an /etc/group file.
func parseGroup(b []byte) ([]group, error) {
	var out []group
	err := eachLine(b, 4, func(n int, f []string) error {
		gid, err := parseID(f[2])
		if err != nil {
			return fmt.Errorf("line %d: gid: %w", n, err)
		}
		g := group{Name: f[0], GID: gid, Line: n}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.Members = append(g.Members, m)
			}
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// eachLine calls fn with the colon-separated fields of every non-empty,
// non-comment line, which must have exactly want fields.
func eachLine(b []byte, want int, fn func(n int, fields []string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxSize)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-") {
			return fmt.Errorf("line %d: NIS compat entries are not supported", n)
		}
		f := strings.Split(line, ":")
		if len(f) != want {
			return fmt.Errorf("line %d: %d fields, want %d", n, len(f), want)
		}
		if err := fn(n, f); err != nil {
			return err
		}
	}
	return sc.Err()
}

// parseID parses a decimal uid or gid; -1 (4294967295) is refused.
func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal id", s)
	}
	if v == 1<<32-1 {
		return 0, errors.New("4294967295 is not a valid id")
	}
	return uint32(v), nil
}
