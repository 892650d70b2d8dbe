package deb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on what is read from one .deb.
const (
	// MaxControl is the largest control file read.
	MaxControl = 1 << 20
	// MaxEntries is the most data.tar entries read.
	MaxEntries = 1 << 20
	// MaxDataSize is the most bytes of file contents data.tar may hold.
	MaxDataSize = 8 << 30
	// maxMembers is the most ar members looked at: a .deb has three, and
	// dpkg accepts extra members after them only if their names start
	// with "_".
	maxMembers = 16
)

// ErrInvalid is matched by every error about a malformed .deb.
var ErrInvalid = errors.New("invalid .deb")

// Error is a malformed .deb: what is wrong, and in which member.
type Error struct {
	Member string // the ar member, or "" for the archive itself
	Err    error
}

func (e *Error) Error() string {
	if e.Member == "" {
		return e.Err.Error()
	}
	return e.Member + ": " + e.Err.Error()
}

// Unwrap returns the cause and ErrInvalid.
func (e *Error) Unwrap() []error { return []error{e.Err, ErrInvalid} }

func invalid(member, format string, args ...any) error {
	return &Error{Member: member, Err: fmt.Errorf(format, args...)}
}

// member is one ar member: its name and where its data lies.
type member struct {
	name        string
	off, length int64
}

// Archive is an opened .deb.
type Archive struct {
	r             io.ReaderAt
	control, data member
}

const (
	arMagic   = "!<arch>\n"
	arHdrSize = 60
)

// Open reads the ar structure of the .deb in r, size bytes long, and finds
// its members: debian-binary (which must say 2.x), control.tar and
// data.tar, each with or without a .gz, .xz or .zst suffix.
func Open(r io.ReaderAt, size int64) (*Archive, error) {
	magic := make([]byte, len(arMagic))
	if _, err := r.ReadAt(magic, 0); err != nil || string(magic) != arMagic {
		return nil, invalid("", "not an ar archive")
	}
	members, err := readMembers(r, size)
	if err != nil {
		return nil, err
	}
	if len(members) < 3 || members[0].name != "debian-binary" {
		return nil, invalid("", "want debian-binary, control.tar and data.tar members, got %s", names(members))
	}
	if err := checkVersion(r, members[0]); err != nil {
		return nil, err
	}
	a := &Archive{r: r}
	for _, m := range members[1:] {
		switch {
		case strings.HasPrefix(m.name, "control.tar") && a.control.name == "" && a.data.name == "":
			a.control = m
		case strings.HasPrefix(m.name, "data.tar") && a.control.name != "" && a.data.name == "":
			a.data = m
		case strings.HasPrefix(m.name, "_") && a.data.name != "":
			// dpkg ignores such members after data.tar
		default:
			return nil, invalid(m.name, "unexpected member (members: %s)", names(members))
		}
	}
	if a.data.name == "" {
		return nil, invalid("", "no data.tar member (members: %s)", names(members))
	}
	for _, m := range []member{a.control, a.data} {
		if _, err := decompressor(m.name); err != nil {
			return nil, &Error{Member: m.name, Err: err}
		}
	}
	return a, nil
}

func names(ms []member) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.name)
	}
	return strings.Join(s, ", ")
}

// readMembers lists the ar members of r, each checked to lie inside size.
func readMembers(r io.ReaderAt, size int64) ([]member, error) {
	var out []member
	hdr := make([]byte, arHdrSize)
	for off := int64(len(arMagic)); off < size; {
		if len(out) == maxMembers {
			return nil, invalid("", "more than %d ar members", maxMembers)
		}
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil, invalid("", "ar header at offset %d: %v", off, err)
		}
		m, err := parseHeader(hdr)
		if err != nil {
			return nil, invalid("", "ar header at offset %d: %v", off, err)
		}
		m.off = off + arHdrSize
		if m.length > size-m.off {
			return nil, invalid(m.name, "%d bytes declared, %d left in the file", m.length, size-m.off)
		}
		out = append(out, m)
		off = m.off + m.length + m.length%2 // members are padded to an even offset
	}
	return out, nil
}

// parseHeader reads one 60-byte ar member header: name, mtime, uid, gid,
// mode, size and the "`\n" terminator.
func parseHeader(h []byte) (member, error) {
	if string(h[58:60]) != "`\n" {
		return member{}, errors.New("bad terminator")
	}
	name := strings.TrimRight(string(h[0:16]), " ")
	name = strings.TrimSuffix(name, "/") // GNU ar
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return member{}, fmt.Errorf("bad member name %q", name)
	}
	size, err := strconv.ParseInt(strings.TrimRight(string(h[48:58]), " "), 10, 64)
	if err != nil || size < 0 {
		return member{}, fmt.Errorf("member %s: bad size %q", name, h[48:58])
	}
	return member{name: name, length: size}, nil
}

// checkVersion reads debian-binary: format 2.x, as dpkg accepts it.
func checkVersion(r io.ReaderAt, m member) error {
	if m.length > 64 {
		return invalid(m.name, "%d bytes, want a version line", m.length)
	}
	b := make([]byte, m.length)
	if _, err := r.ReadAt(b, m.off); err != nil {
		return invalid(m.name, "%v", err)
	}
	if !bytes.HasPrefix(b, []byte("2.")) || !bytes.HasSuffix(b, []byte("\n")) {
		return invalid(m.name, "format %q, want 2.x", strings.TrimSpace(string(b)))
	}
	return nil
}

// section returns a reader of a member's bytes.
func (a *Archive) section(m member) io.Reader {
	return io.NewSectionReader(a.r, m.off, m.length)
}
