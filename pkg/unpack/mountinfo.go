package unpack

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// mountEntry is one line of /proc/self/mountinfo (see proc(5)).
type mountEntry struct {
	Major, Minor uint32   // st_dev of the mounted filesystem
	Point        string   // mount point, unescaped
	Opts         []string // per-mount options: ro/rw, nosuid, nodev, ...
	FSType       string
	Source       string
	SuperOpts    []string // superblock options
}

// has reports whether the mount or its superblock carries option opt.
func (m mountEntry) has(opt string) bool {
	return slices.Contains(m.Opts, opt) || slices.Contains(m.SuperOpts, opt)
}

// readOnly reports whether writes through this mount are refused.
func (m mountEntry) readOnly() bool { return m.has("ro") }

// parseMountinfo reads the mountinfo format; a malformed line is an error
// naming its number.
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if len(f) < 10 || sep < 6 || len(f) < sep+4 {
			return nil, fmt.Errorf("mountinfo line %d: malformed", n)
		}
		maj, min, ok := strings.Cut(f[2], ":")
		ma, err1 := strconv.ParseUint(maj, 10, 32)
		mi, err2 := strconv.ParseUint(min, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mountinfo line %d: bad device %q", n, f[2])
		}
		out = append(out, mountEntry{Major: uint32(ma), Minor: uint32(mi), Point: unescapeMount(f[4]),
			Opts: strings.Split(f[5], ","), FSType: f[sep+1], Source: unescapeMount(f[sep+2]),
			SuperOpts: strings.Split(f[sep+3], ",")})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	return out, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readMountinfo() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// fsType names the filesystem on the block device dev from its superblock
// magic: "ext4" (ext2, ext3 and ext4 share it) or "xfs".
func fsType(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sb := make([]byte, 2048)
	if _, err := io.ReadFull(f, sb); err != nil {
		return "", fmt.Errorf("reading the superblock of %s: %w", dev, err)
	}
	switch {
	case string(sb[:4]) == "XFSB":
		return "xfs", nil
	case binary.LittleEndian.Uint16(sb[1024+0x38:]) == 0xEF53:
		return "ext4", nil
	}
	return "", fmt.Errorf("%s: %w: no ext4 or xfs superblock", dev, ErrMount)
}
