package resolve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// lddResult is what the ldd oracle says about one file.
type lddResult struct {
	files   []string // real paths, with the file itself; without the vDSO
	missing []string // sonames reported "not found", sorted
	static  bool     // "not a dynamic executable" or "statically linked"
}

// runLdd runs ldd on bin and realpaths what it lists.
func runLdd(bin string) (*lddResult, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if bytes.Contains(out, []byte("not a dynamic executable")) || bytes.Contains(out, []byte("statically linked")) {
		return &lddResult{static: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, out)
	}
	res := &lddResult{}
	set := map[string]bool{}
	add := func(p string) error {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		set[real] = true
		return nil
	}
	if err := add(bin); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, right, arrow := strings.Cut(line, " => ")
		if arrow && right == "not found" {
			res.missing = append(res.missing, name)
			continue
		}
		if arrow {
			line = right
		}
		p, _, _ := strings.Cut(line, " (")
		if !strings.HasPrefix(p, "/") {
			continue // linux-vdso.so.1, warnings
		}
		if err := add(p); err != nil {
			return nil, err
		}
	}
	res.files = slices.Sorted(maps.Keys(set))
	slices.Sort(res.missing)
	return res, nil
}

// lddFiles returns the files ldd lists for bin; ok is false when ldd finds
// bin static or misses a library.
func lddFiles(bin string) (files []string, ok bool, err error) {
	res, err := runLdd(bin)
	if err != nil || res.static || len(res.missing) > 0 {
		return nil, false, err
	}
	return res.files, true, nil
}

// needLdd skips when the ldd oracle is absent (fails under CI=true).
func needLdd(t *testing.T) {
	t.Helper()
	testutil.NeedTool(t, "ldd")
}

// TestHostMatchesLdd resolves real host binaries and compares with ldd.
func TestHostMatchesLdd(t *testing.T) {
	needLdd(t)
	tests := []struct{ bin, pkg string }{
		{"/usr/bin/bash", "bash"},
		{"/usr/bin/ls", "coreutils"},
		{"/bin/ls", "coreutils"}, // through the /bin symlink
		{"/usr/sbin/nginx", "nginx-light"},
		{"/usr/bin/git", "git"},
		{"/usr/bin/ssh", "openssh-client"},
		{"/usr/bin/python3", "python3"},
		{"/usr/bin/curl", "curl"},
		{"/usr/lib/x86_64-linux-gnu/libssl.so.3", "libssl3"},
	}
	r, err := New(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.bin, func(t *testing.T) {
			testutil.NeedFile(t, tc.bin, tc.pkg)
			want, ok, err := lddFiles(tc.bin)
			if err != nil || !ok {
				t.Fatalf("ldd %s: ok=%v %v", tc.bin, ok, err)
			}
			cl, err := r.Resolve(context.Background(), Request{Binaries: []string{tc.bin}})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(cl.Files, want) {
				t.Errorf("Files =\n%q\nldd says\n%q", cl.Files, want)
			}
			assertInsideRoot(t, "/", cl)
		})
	}
}
