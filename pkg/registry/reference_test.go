package registry_test

import (
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/jailimg/jailimg/pkg/registry"
)

func TestParseReference(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"registry.example/jails/nginx:1.22", "registry.example/jails/nginx:1.22"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"},
		{"localhost/x:1", "localhost/x:1"},
		{"docker.io/library/nginx", "index.docker.io/library/nginx:latest"},
		{"index.docker.io/library/nginx:1", "index.docker.io/library/nginx:1"},
	} {
		ref, err := registry.ParseReference(tc.in, name.WithDefaultRegistry("evil.example"))
		if err != nil || ref.Name() != tc.want {
			t.Errorf("registry.ParseReference(%q) = %v, %v; want %s", tc.in, ref, err, tc.want)
		}
	}
	for _, in := range []string{"nginx", "nginx:1.22", "out/bash", "jails/bash:5.2", "library/nginx", "./out/x", "../x:1"} {
		var noHost *registry.NoHostError
		if ref, err := registry.ParseReference(in, name.WithDefaultRegistry("evil.example")); !errors.As(err, &noHost) {
			t.Errorf("registry.ParseReference(%q) = %v, %v; want a *registry.NoHostError", in, ref, err)
		}
	}
}
