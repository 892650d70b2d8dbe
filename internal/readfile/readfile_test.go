package readfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRegular: a regular file within the limit is read; a FIFO is refused
// without blocking, as are a directory and a file over the limit.
func TestRegular(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok"), []byte("12345"), 0o644)
	os.WriteFile(filepath.Join(dir, "big"), []byte("123456"), 0o644)
	syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	for _, tc := range []struct{ name, want string }{
		{"ok", ""},
		{"big", "larger than 5 bytes"},
		{"fifo", "not a regular file (mode p"},
		{".", "not a regular file (mode d"},
	} {
		f, err := Open(filepath.Join(dir, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		data, err := Regular(f, 5)
		f.Close()
		if tc.want == "" && (err != nil || string(data) != "12345") {
			t.Errorf("%s: %q, %v", tc.name, data, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
