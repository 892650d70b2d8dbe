package lock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/pkg/lock"
)

func sample() *lock.Lock {
	return &lock.Lock{
		Format: lock.Format, Architecture: "amd64", Requests: []string{"nginx-light=1.22.1-9+deb12u9"},
		Packages: []lock.Package{
			{Name: "nginx-light", Version: "1.22.1-9+deb12u9", Architecture: "all", SHA256: strings.Repeat("ab", 32), Size: 81060,
				URL: "http://deb.debian.org/debian/pool/main/n/nginx/nginx-light_1.22.1-9+deb12u9_all.deb", Suite: "Debian bookworm/main"},
			{Name: "libc6", Version: "2.36-9+deb12u14", Architecture: "amd64", SHA256: strings.Repeat("cd", 32), Size: 2759320,
				URL: "http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb", Suite: "Debian bookworm/main"},
		},
	}
}

// TestRoundTrip: Write then Read gives the lock back, sorted by name, and
// the same lock always gives the same bytes.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nginx.lock.json")
	l := sample()
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := lock.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Packages[0].Name != "libc6" || got.Packages[1].Name != "nginx-light" {
		t.Errorf("packages not sorted: %+v", got.Packages)
	}
	a, _ := os.ReadFile(path)
	b, _ := got.Marshal()
	if string(a) != string(b) {
		t.Errorf("marshalling again gives other bytes:\n%s\n%s", a, b)
	}
	if lock.Path("recipes/nginx-pkg.yaml") != "recipes/nginx-pkg.lock.json" {
		t.Errorf("Path: %s", lock.Path("recipes/nginx-pkg.yaml"))
	}
}

// TestParse: a malformed or hostile lock is refused naming the field.
func TestParse(t *testing.T) {
	good, _ := sample().Marshal()
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown field", `"lockFormat": 1,`, `"lockFormat": 1, "extra": true,`, "unknown field"},
		{"format", `"lockFormat": 1`, `"lockFormat": 2`, "lockFormat: 2, want 1"},
		{"short sha256", strings.Repeat("ab", 32), "abab", "packages[1].sha256"},
		{"uppercase sha256", strings.Repeat("ab", 32), strings.Repeat("AB", 32), "packages[1].sha256"},
		{"bad name", `"name": "libc6"`, `"name": "../libc6"`, "packages[0].name"},
		{"bad version", `"version": "2.36-9+deb12u14"`, `"version": "2.36 9"`, "packages[0].version"},
		{"file url", "http://deb.debian.org/debian/pool/main/g", "file:///etc/passwd#", "packages[0].url"},
		{"size", `"size": 81060`, `"size": -1`, "packages[1].size"},
		{"twice", `"name": "libc6"`, `"name": "nginx-light"`, "nginx-light is locked twice"},
		{"control character", `"suite": "Debian bookworm/main"`, `"suite": "\u001b[31m"`, "packages[0].suite"},
		{"two documents", "", "{}", "more than one JSON document"},
		{"bad request", `"nginx-light=1.22.1-9+deb12u9"`, `"nginx-light==1"`, "requests[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := string(good) + tc.to
			if tc.from != "" {
				data = strings.Replace(string(good), tc.from, tc.to, 1)
			}
			if data == string(good) {
				t.Fatalf("%q not in the lock", tc.from)
			}
			_, err := lock.Parse("x.lock.json", []byte(data))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "x.lock.json: ") {
				t.Errorf("Parse: %v, want an error naming x.lock.json and saying %q", err, tc.want)
			}
		})
	}
}

// TestCheck: a lock made for other packages: names what changed.
func TestCheck(t *testing.T) {
	l := sample()
	cases := []struct {
		name string
		reqs []string
		arch string
		want string
	}{
		{"same", []string{"nginx-light=1.22.1-9+deb12u9"}, "amd64", ""},
		{"pin moved", []string{"nginx-light=1.22.1-9+deb12u11"}, "amd64", "nginx-light=1.22.1-9+deb12u11 (locked as nginx-light=1.22.1-9+deb12u9)"},
		{"added", []string{"nginx-light=1.22.1-9+deb12u9", "base-files"}, "amd64", "base-files added; base-files is not among the locked packages"},
		{"removed", []string{"libc6"}, "amd64", "nginx-light=1.22.1-9+deb12u9 removed"},
		{"arch", []string{"nginx-light=1.22.1-9+deb12u9"}, "arm64", "architecture arm64, locked for amd64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Check("x.lock.json", tc.reqs, tc.arch)
			var stale *lock.StaleError
			if tc.want == "" {
				if err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if !errors.As(err, &stale) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: %v, want a StaleError saying %q", err, tc.want)
			}
		})
	}
}

// FuzzParse: arbitrary bytes as a lock: errors are fine, panics are not,
// and what parses writes back to something that parses to the same lock.
func FuzzParse(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add([]byte(`{"lockFormat":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := lock.Parse("fuzz.lock.json", data)
		if err != nil {
			return
		}
		b, err := l.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := lock.Parse("again.lock.json", b)
		if err != nil {
			t.Fatalf("a parsed lock does not parse once written: %v\n%s", err, b)
		}
		b2, _ := again.Marshal()
		if string(b) != string(b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
	})
}
