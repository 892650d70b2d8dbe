package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/layout"
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

// ParseSource reads a SOURCE argument. "oci:DIR[:TAG]" is always a layout;
// otherwise a string naming an existing directory ("DIR", or "DIR:TAG" when
// DIR exists) is a layout, and anything else must be a registry reference
// with an explicit registry host, as ParseReference requires: "out/typo"
// is an error matching fs.ErrNotExist, never docker.io/out/typo.
func ParseSource(s string, opts ...name.Option) (Source, error) {
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
	ref, err := ParseReference(s, opts...)
	var noHost *NoHostError
	switch {
	case errors.As(err, &noHost), err != nil && !pathHasHost(s):
		return Source{}, &SourceError{Source: s}
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

// Open returns the image a SOURCE names. Registry references are read as
// Source.Image reads them.
func Open(ctx context.Context, source string, opts ...RemoteOption) (v1.Image, error) {
	src, err := ParseSource(source)
	if err != nil {
		return nil, err
	}
	return src.Image(ctx, opts...)
}

// Image returns the image the source names. A registry image is read with
// jailimg's retry policy (see Backoff) and opts (the transport, credentials
// and plain-HTTP rule Push and Pull take; WithProgress is not used); its
// index and manifest are
// checked as FromLayout checks a layout's (a *DocumentError inside the
// *RegistryError). Every failure to read a registry image, then or later
// while its layers are read, is a *RegistryError; a layout's are as
// FromLayout says.
func (s Source) Image(ctx context.Context, opts ...RemoteOption) (v1.Image, error) {
	if s.Ref == nil {
		return layout.Image(s.Layout, s.Tag)
	}
	o := makeRemoteOptions(opts)
	g := o.guard()
	img, err := fetchImage(insecureRef(s.Ref, o.insecure), o.remote(ctx, g))
	if err != nil {
		return nil, &RegistryError{Op: "pull", Ref: s.Ref, Err: g.explain(err)}
	}
	return &registryImage{Image: img, ref: s.Ref}, nil
}
