package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"

	"github.com/jailimg/jailimg/pkg/resolve"
)

func TestRunResolve(t *testing.T) {
	// A root holding only a copy of /usr/bin/ls: the loader and libc are missing.
	bare := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bare, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.CopyFile(t, "/usr/bin/ls", filepath.Join(bare, "usr/bin/ls"), 0o755)

	tests := []struct {
		name      string
		opts      resolveOptions
		args      []string
		wantLines []string // lines that must be printed
		wantErr   string
		check     func(t *testing.T, out []byte, err error)
	}{{
		name:      "files and links of a host binary",
		opts:      resolveOptions{root: "/", links: true},
		args:      []string{"/bin/ls"},
		wantLines: []string{"/usr/bin/ls", "/bin -> usr/bin", "/lib64 -> usr/lib64"},
	}, {
		name: "json",
		opts: resolveOptions{root: "/", json: true, libs: []string{"libnss_files.so.2"}},
		args: []string{"/usr/bin/ls"},
		check: func(t *testing.T, out []byte, err error) {
			var cl resolve.Closure
			if err := json.Unmarshal(out, &cl); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(cl.Files, "/usr/bin/ls") || len(cl.Links) == 0 {
				t.Fatalf("closure %+v", cl)
			}
			if !slices.ContainsFunc(cl.Files, func(f string) bool { return strings.HasSuffix(f, "/libnss_files.so.2") }) {
				t.Fatalf("no libnss_files.so.2 in %q", cl.Files)
			}
		},
	}, {
		name:      "missing libraries: prints what it found, then fails",
		opts:      resolveOptions{root: bare},
		args:      []string{"/usr/bin/ls"},
		wantLines: []string{"/usr/bin/ls"},
		wantErr:   "resolving /lib64/ld-linux-x86-64.so.2 for /usr/bin/ls: not found",
		check: func(t *testing.T, _ []byte, err error) {
			var me *resolve.MissingLibError
			if !errors.As(err, &me) {
				t.Fatalf("err %T is no MissingLibError", err)
			}
		},
	}, {
		name:    "not ELF",
		opts:    resolveOptions{root: "/"},
		args:    []string{"/etc/passwd"},
		wantErr: "/etc/passwd: not an ELF file",
	}, {
		name:    "relative path with --root",
		opts:    resolveOptions{root: bare},
		args:    []string{"usr/bin/ls"},
		wantErr: "must be an absolute path inside --root",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runResolve(context.Background(), &tc.opts, tc.args, &out)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			lines := strings.Split(out.String(), "\n")
			for _, w := range tc.wantLines {
				if !slices.Contains(lines, w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.check != nil {
				tc.check(t, out.Bytes(), err)
			}
		})
	}
}
