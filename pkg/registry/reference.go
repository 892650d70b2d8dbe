package registry

import (
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
)

// ParseReference parses a registry reference that names its registry host
// explicitly: the first path component contains a "." or ":" or is
// "localhost" (go-containerregistry's and docker's rule), as in
// registry.example/jails/nginx:1.22, 127.0.0.1:5000/x or
// docker.io/library/nginx. A reference without one ("nginx:1.22",
// "out/bash") fails with a *NoHostError instead of silently meaning Docker
// Hub. opts are go-containerregistry's (name.Insecure, ...); a default
// registry among them is ignored.
func ParseReference(s string, opts ...name.Option) (name.Reference, error) {
	ref, err := name.ParseReference(s, append(slices.Clone(opts), name.WithDefaultRegistry(""))...)
	if err != nil {
		return nil, err
	}
	switch ref.Context().RegistryStr() {
	case "", ".", "..": // "./out/x" is a path, not a registry called "."
		return nil, &NoHostError{Ref: s}
	}
	return ref, nil
}

// NoHostError is a registry reference without an explicit registry host.
type NoHostError struct {
	Ref string
}

func (e *NoHostError) Error() string {
	return fmt.Sprintf("reference %q names no registry host; write it in full (registry.example/REPO:TAG, docker.io/library/NAME:TAG)", e.Ref)
}
