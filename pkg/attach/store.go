package attach

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocilayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/registry"
)

var (
	_ Store = (*layoutStore)(nil)
	_ Store = (*registryStore)(nil)
)

// Layout returns the Store of the OCI image layout at dir: attached images
// are tagged in its index.json beside the image, read with
// layout.Artifact and written with layout.Update (atomically, under the
// layout's lock). A missing layout holds nothing; Put creates it.
func Layout(dir string) Store { return &layoutStore{dir: dir} }

type layoutStore struct{ dir string }

func (s *layoutStore) String() string { return "oci:" + s.dir }

// Get implements Store.
func (s *layoutStore) Get(_ context.Context, tag string) (v1.Image, error) {
	img, err := layout.Artifact(s.dir, tag)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s:%s: %w", s, tag, ErrNotFound)
	}
	return img, err
}

// Put implements Store.
func (s *layoutStore) Put(ctx context.Context, tag string, img v1.Image) error {
	return layout.Update(ctx, s.dir, func(p ocilayout.Path) error { return layout.SetTag(p, img, tag) })
}

// Registry returns the Store of the registry repository repo, spoken to
// with opts as package registry does (HTTPS rule, credentials, retries):
// Get reads with registry.Artifact, Put writes with registry.Push.
func Registry(repo name.Repository, opts ...registry.Option) Store {
	return &registryStore{repo: repo, opts: opts}
}

type registryStore struct {
	repo name.Repository
	opts []registry.Option
}

func (s *registryStore) String() string { return s.repo.Name() }

// Get implements Store.
func (s *registryStore) Get(ctx context.Context, tag string) (v1.Image, error) {
	img, err := registry.Artifact(ctx, s.repo.Tag(tag), s.opts...)
	if registry.NotFound(err) {
		return nil, fmt.Errorf("%s:%s: %w", s, tag, errors.Join(ErrNotFound, err))
	}
	return img, err
}

// Put implements Store.
func (s *registryStore) Put(ctx context.Context, tag string, img v1.Image) error {
	_, err := registry.Push(ctx, s.repo.Tag(tag), img, s.opts...)
	return err
}

// classify returns err as an *Error when it blames the attached image
// (malformed, a blob missing or altered), as it is when it blames the
// store (a registry that failed or could not be reached, a canceled
// operation) or says there is nothing attached.
func classify(s Store, tag string, layer int, err error) error {
	var ae *Error
	if errors.Is(err, ErrNotFound) || errors.As(err, &ae) || storeFault(err) {
		return err
	}
	return &Error{Store: s.String(), Tag: tag, Layer: layer, Err: err}
}

// storeFault reports whether err blames where an attached image is kept
// rather than the image: any registry answer but 404, a network failure,
// plain HTTP refused, a canceled context.
func storeFault(err error) bool {
	var (
		te *transport.Error
		ne net.Error
		ue *url.Error
		pe *registry.PlainHTTPError
	)
	if errors.As(err, &te) {
		return !registry.NotFound(err)
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		registry.Transient(err) || errors.As(err, &ne) || errors.As(err, &ue) || errors.As(err, &pe)
}
