package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
)

// Source is a parsed SOURCE argument: an OCI layout directory with an
// optional tag, or a registry reference.
type Source struct {
	// Layout is the layout directory, empty for a registry reference.
	Layout string
	// Tag selects an image in the layout.
	Tag string
	// Ref is the registry reference, nil for a layout.
	Ref name.Reference
}

func (s Source) String() string {
	if s.Ref != nil {
		return s.Ref.String()
	}
	if s.Tag != "" {
		return "oci:" + s.Layout + ":" + s.Tag
	}
	return "oci:" + s.Layout
}

// Parse reads a SOURCE argument. "oci:DIR[:TAG]" is always a layout;
// otherwise a string naming an existing directory ("DIR", or "DIR:TAG" when
// DIR exists) is a layout, and anything else must be a registry reference
// with an explicit registry host, as registry.ParseReference requires:
// "out/typo" is an *Error matching fs.ErrNotExist, never
// docker.io/out/typo. opts are go-containerregistry's, for the reference.
func Parse(s string, opts ...name.Option) (Source, error) {
	if rest, ok := strings.CutPrefix(s, "oci:"); ok {
		dir, tag := rest, ""
		if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i+1:], "/") {
			dir, tag = rest[:i], rest[i+1:]
		}
		if dir == "" {
			return Source{}, fmt.Errorf("source %q: empty layout directory", s)
		}
		return Source{Layout: dir, Tag: tag}, nil
	}
	if isDir(s) {
		return Source{Layout: s}, nil
	}
	if i := strings.LastIndex(s, ":"); i > 0 && !strings.Contains(s[i+1:], "/") && isDir(s[:i]) {
		return Source{Layout: s[:i], Tag: s[i+1:]}, nil
	}
	ref, err := registry.ParseReference(s, opts...)
	var noHost *registry.NoHostError
	switch {
	case errors.As(err, &noHost), err != nil && !pathHasHost(s):
		return Source{}, &Error{Source: s}
	case err != nil:
		return Source{}, fmt.Errorf("source %q is neither an existing directory nor a registry reference: %w", s, err)
	}
	return Source{Ref: ref}, nil
}

// pathHasHost reports whether s starts with what could be a registry host,
// to tell a malformed reference from a path ("/abs/dir", "./out/x") when
// neither parses: the docker rule, with "." and ".." taken as paths.
func pathHasHost(s string) bool {
	first, _, ok := strings.Cut(s, "/")
	return ok && first != "." && first != ".." && (first == "localhost" || strings.ContainsAny(first, ".:"))
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// Image returns the image the source names: a layout's as layout.Image
// reads it, with every check it makes, and a registry's as registry.Image
// does, with opts (the transport, credentials and plain-HTTP rule), so
// that every failure reading it, its layers included, is a
// *registry.Error.
func (s Source) Image(ctx context.Context, opts ...registry.Option) (v1.Image, error) {
	if s.Ref == nil {
		return layout.Image(s.Layout, s.Tag)
	}
	return registry.Image(ctx, s.Ref, opts...)
}

// Error is a SOURCE argument that is neither an existing directory nor a
// registry reference with a host: usually a layout path with a typo or one
// not built yet. It matches fs.ErrNotExist.
type Error struct {
	Source string
}

func (e *Error) Error() string {
	return fmt.Sprintf("SOURCE %q: no such OCI layout directory; a registry reference needs a host (registry.example/REPO:TAG)", e.Source)
}

// Unwrap returns fs.ErrNotExist.
func (e *Error) Unwrap() error { return fs.ErrNotExist }
