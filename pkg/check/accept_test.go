package check_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/check"
	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/recipe"
)

// TestKindsMatchRecipe keeps the kinds a recipe's run.accept may name equal
// to the kinds an image may accept.
func TestKindsMatchRecipe(t *testing.T) {
	var kinds []string
	for _, k := range check.ImageAcceptable {
		kinds = append(kinds, string(k))
	}
	if !slices.Equal(kinds, recipe.AcceptKinds) {
		t.Errorf("check.ImageAcceptable %v != recipe.AcceptKinds %v", kinds, recipe.AcceptKinds)
	}
}

func TestAccept(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "bin/sh"), []byte("#!"), 0o755)
	os.WriteFile(filepath.Join(root, "open"), []byte("x"), 0o644)
	os.Chmod(filepath.Join(root, "open"), 0o666) // past the umask
	findings, err := check.Run(context.Background(), root, check.WithAccept(check.KindInterpreter))
	if err != nil {
		t.Fatal(err)
	}
	var accepted, failing []check.Kind
	for _, f := range findings {
		if f.Accepted {
			accepted = append(accepted, f.Kind)
		}
	}
	for _, f := range check.Failing(findings) {
		failing = append(failing, f.Kind)
	}
	if !slices.Equal(accepted, []check.Kind{check.KindInterpreter}) || !slices.Equal(failing, []check.Kind{check.KindWorldWritable}) {
		t.Errorf("accepted %v, failing %v; want [interpreter], [world-writable]", accepted, failing)
	}
}

// TestImageCannotWaive: the audited image's own policy may accept only the
// design choices in ImageAcceptable, never a setuid file or a device.
func TestImageCannotWaive(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		err    string
	}{
		{[]string{"interpreter"}, ""},
		{[]string{"interpreter", "user-writable"}, ""},
		{[]string{"setuid"}, `image policy accepts "setuid" findings`},
		{[]string{"interpreter", "device"}, `image policy accepts "device" findings`},
		{[]string{"bogus"}, `image policy accepts "bogus" findings`},
	} {
		pol, err := json.Marshal(policy.Policy{Accept: tc.accept})
		if err != nil {
			t.Fatal(err)
		}
		b := &bundle.Bundle{Meta: bundle.Meta{Config: v1.ConfigFile{Config: v1.Config{Labels: map[string]string{policy.Label: string(pol)}}}}}
		_, err = check.ForBundle(b)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ForBundle with accept %v = %v, want %q", tc.accept, err, tc.err)
		}
	}
}

// TestOptOuts: an image whose policy turns off a default confinement is
// reported, one finding each, and its own run.accept cannot waive them;
// the auditor can.
func TestOptOuts(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name string
		pol  policy.Policy
		want []string
	}{
		{"defaults", policy.Policy{}, nil},
		{"seccomp off", policy.Policy{Seccomp: &off}, []string{"seccomp: false"}},
		{"all off", policy.Policy{Seccomp: &off, Landlock: &off, PID: "host", IPC: "host"},
			[]string{"ipc: host", "landlock: false", "pid: host", "seccomp: false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.pol)
			if err != nil {
				t.Fatal(err)
			}
			b := &bundle.Bundle{Meta: bundle.Meta{Config: v1.ConfigFile{Config: v1.Config{Labels: map[string]string{policy.Label: string(raw)}}}}}
			opts, err := check.ForBundle(b)
			if err != nil {
				t.Fatal(err)
			}
			findings, err := check.Run(context.Background(), t.TempDir(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range check.Failing(findings) {
				if f.Kind != check.KindOptOut || f.Path != "/" {
					t.Errorf("unexpected finding %v", f)
				}
				opt, _, _ := strings.Cut(strings.TrimPrefix(f.Detail, "run policy "), ": jailimg run")
				got = append(got, opt)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("opt-out findings %q, want %q", got, tc.want)
			}
			accepted, err := check.Run(context.Background(), t.TempDir(), append(opts, check.WithAccept(check.KindOptOut))...)
			if err != nil || len(check.Failing(accepted)) != 0 {
				t.Errorf("with the auditor's --accept opt-out: %v, %v", check.Failing(accepted), err)
			}
		})
	}
	b := &bundle.Bundle{Meta: bundle.Meta{Config: v1.ConfigFile{Config: v1.Config{Labels: map[string]string{policy.Label: `{"accept":["opt-out"]}`}}}}}
	if _, err := check.ForBundle(b); err == nil || !strings.Contains(err.Error(), `"opt-out"`) {
		t.Errorf("an image accepting its own opt-outs: %v, want an error", err)
	}
}
