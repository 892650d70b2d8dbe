package source_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/pkg/source"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ in, want string }{
		{dir, "oci:" + dir},
		{dir + ":v1", "oci:" + dir + ":v1"},
		{"oci:" + dir + "/not-yet:v2", "oci:" + dir + "/not-yet:v2"},
		{"oci:relative", "oci:relative"},
		{"localhost:5000/jails/nginx:1.22", "localhost:5000/jails/nginx:1.22"},
		{"localhost/jails/nginx:1.22", "localhost/jails/nginx:1.22"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000/x"},
		{"registry.example/jails/nginx:1.22", "registry.example/jails/nginx:1.22"},
		{"docker.io/library/nginx", "docker.io/library/nginx"},
		{"registry.example/nginx@sha256:" + strings.Repeat("a", 64), "registry.example/nginx@sha256:" + strings.Repeat("a", 64)},
	} {
		src, err := source.Parse(tc.in)
		if err != nil || src.String() != tc.want {
			t.Errorf("source.Parse(%q) = %v, %v; want %s", tc.in, src, err, tc.want)
		}
	}
	for _, bad := range []string{"oci:", "UPPER/Case:tag", "a:b:c:d", "registry.example/UPPER:tag"} {
		if _, err := source.Parse(bad); err == nil {
			t.Errorf("source.Parse(%q): no error", bad)
		}
	}
}

// TestParseNeedsHost: a SOURCE that is no directory and names no
// registry host is an error matching fs.ErrNotExist, never Docker Hub.
func TestParseNeedsHost(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"out/bsh", "out/nonexist", "nginx:1.22", "nginx", "jails/nginx@sha256:" + strings.Repeat("a", 64),
		filepath.Join(dir, "missing"), filepath.Join(dir, "missing") + ":v1", "local/nginx:1",
		"./out/x", "../out/x:1", file, "UPPER/Case:tag",
	} {
		t.Run(s, func(t *testing.T) {
			src, err := source.Parse(s)
			if err == nil {
				t.Fatalf("source.Parse(%q) = %v, want an error", s, src)
			}
			want := fmt.Sprintf("SOURCE %q: no such OCI layout directory; a registry reference needs a host", s)
			if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q (fs.ErrNotExist: %v), want %q...", err, errors.Is(err, fs.ErrNotExist), want)
			}
			if err := readAll(context.Background(), s); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("opening %q: %v, want fs.ErrNotExist", s, err)
			}
		})
	}
}
