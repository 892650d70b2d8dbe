package attach_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/jailimg/jailimg/pkg/attach"
	"github.com/jailimg/jailimg/pkg/registry"
)

// digest is the image the tests attach documents to.
var digest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}

// stores returns a fresh store of each kind: an OCI layout, and a
// repository of an in-process registry.
func stores(t *testing.T) map[string]attach.Store {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/jails/x")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]attach.Store{
		"layout":   attach.Layout(filepath.Join(t.TempDir(), "l")),
		"registry": attach.Registry(repo),
	}
}

func doc(payload, sig string) attach.Layer {
	return attach.Layer{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Payload: []byte(payload),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": sig}}
}

// TestAppendRead appends documents and reads them back, from a layout and
// from a registry: in order, once each, the attached image written as
// cosign writes one.
func TestAppendRead(t *testing.T) {
	ctx := context.Background()
	for kind, s := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			if _, err := attach.Read(ctx, s, digest, attach.Signatures); !errors.Is(err, attach.ErrNotFound) {
				t.Fatalf("Read of nothing: %v, want ErrNotFound", err)
			}
			a, b := doc(`{"a":1}`, "c2lnQQ=="), doc(`{"a":1}`, "c2lnQg==") // one payload, two signatures
			if err := attach.Append(ctx, s, digest, attach.Signatures, a, b); err != nil {
				t.Fatal(err)
			}
			img, err := s.Get(ctx, attach.Tag(digest, attach.Signatures))
			if err != nil {
				t.Fatal(err)
			}
			before, _ := img.Digest()
			if err := attach.Append(ctx, s, digest, attach.Signatures, b, a); err != nil {
				t.Fatal(err)
			}
			img, _ = s.Get(ctx, attach.Tag(digest, attach.Signatures))
			if after, _ := img.Digest(); after != before {
				t.Error("appending documents already there rewrote the attached image")
			}
			c := doc(`{"c":3}`, "c2lnQw==")
			if err := attach.Append(ctx, s, digest, attach.Signatures, c); err != nil {
				t.Fatal(err)
			}
			got, err := attach.Read(ctx, s, digest, attach.Signatures)
			if err != nil {
				t.Fatal(err)
			}
			want := []attach.Layer{a, b, c}
			if len(got) != len(want) {
				t.Fatalf("read %d documents, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].Err != nil || string(got[i].Payload) != string(want[i].Payload) || got[i].Annotations["dev.cosignproject.cosign/signature"] != want[i].Annotations["dev.cosignproject.cosign/signature"] {
					t.Errorf("document %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			img, _ = s.Get(ctx, attach.Tag(digest, attach.Signatures))
			wantFormat(t, img)
		})
	}
}

// wantFormat checks an attached image is as cosign writes one: OCI
// manifest and config, the config's diff_ids the layers' digests (they are
// not compressed). validate.Image does not apply: its layers are not
// layers of a file system.
func wantFormat(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s, config %s: want OCI's", m.MediaType, m.Config.MediaType)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		t.Fatalf("%d diff_ids for %d layers", len(cf.RootFS.DiffIDs), len(m.Layers))
	}
	for i, l := range m.Layers {
		if cf.RootFS.DiffIDs[i] != l.Digest || l.MediaType != "application/vnd.dev.cosign.simplesigning.v1+json" {
			t.Errorf("layer %d: %s %s, diff_id %s", i, l.MediaType, l.Digest, cf.RootFS.DiffIDs[i])
		}
	}
}

// TestReadAltered alters one payload blob of a layout: Read keeps reading
// the others, and says which one is altered.
func TestReadAltered(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "l")
	s := attach.Layout(dir)
	a, b := doc(`{"a":1}`, "QQ=="), doc(`{"b":2}`, "Qg==")
	if err := attach.Append(ctx, s, digest, attach.Signatures, a, b); err != nil {
		t.Fatal(err)
	}
	got, err := attach.Read(ctx, s, digest, attach.Signatures)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "blobs", "sha256", got[0].Digest.Hex)
	if err := os.WriteFile(file, []byte(`{"a":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = attach.Read(ctx, s, digest, attach.Signatures)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got[0].Err, attach.ErrInvalid) || got[0].Payload != nil || !strings.Contains(got[0].Err.Error(), "altered") {
		t.Errorf("altered document: Err %v, payload %q; want ErrInvalid saying altered, no payload", got[0].Err, got[0].Payload)
	}
	if got[1].Err != nil || string(got[1].Payload) != `{"b":2}` {
		t.Errorf("intact document: %v %q", got[1].Err, got[1].Payload)
	}
	if err := attach.Append(ctx, s, digest, attach.Signatures, doc(`{"c":3}`, "Qw==")); !errors.Is(err, attach.ErrInvalid) {
		t.Errorf("Append beside an altered document: %v, want ErrInvalid", err)
	}
}

// TestReadLimits checks the bounds Read puts on what it reads.
func TestReadLimits(t *testing.T) {
	ctx := context.Background()
	s := attach.Layout(filepath.Join(t.TempDir(), "l"))
	many := make([]attach.Layer, attach.MaxLayers+1)
	for i := range many {
		many[i] = doc("{}", strings.Repeat("x", i))
	}
	img, err := attach.Image(many)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, attach.Tag(digest, attach.Signatures), img); err != nil {
		t.Fatal(err)
	}
	if _, err := attach.Read(ctx, s, digest, attach.Signatures); !errors.Is(err, attach.ErrInvalid) {
		t.Errorf("Read of %d documents: %v, want ErrInvalid", len(many), err)
	}
	big := doc(strings.Repeat(" ", attach.MaxPayload+1), "")
	if err := attach.Append(ctx, s, digest, attach.Attestations, big); err != nil {
		t.Fatal(err)
	}
	got, err := attach.Read(ctx, s, digest, attach.Attestations)
	if err != nil || len(got) != 1 || !errors.Is(got[0].Err, attach.ErrInvalid) {
		t.Errorf("Read of a document over MaxPayload: %v, %+v; want its Err ErrInvalid", err, got)
	}
}

// TestCopy copies documents from a layout to a registry and back into
// another layout, as push and pull do.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	st := stores(t)
	from, reg := st["layout"], st["registry"]
	to := attach.Layout(filepath.Join(t.TempDir(), "other"))
	sig, att := doc(`{"s":1}`, "Uw=="), attach.Layer{MediaType: "application/vnd.dsse.envelope.v1+json", Payload: []byte(`{"e":1}`), Annotations: map[string]string{"predicateType": "https://slsa.dev/provenance/v1"}}
	if err := attach.Append(ctx, from, digest, attach.Signatures, sig); err != nil {
		t.Fatal(err)
	}
	if err := attach.Append(ctx, from, digest, attach.Attestations, att); err != nil {
		t.Fatal(err)
	}
	for _, hop := range [][2]attach.Store{{from, reg}, {reg, to}} {
		if err := attach.Copy(ctx, hop[0], hop[1], digest, attach.Signatures, attach.Attestations); err != nil {
			t.Fatalf("Copy %s -> %s: %v", hop[0], hop[1], err)
		}
	}
	for sfx, want := range map[string]attach.Layer{attach.Signatures: sig, attach.Attestations: att} {
		got, err := attach.Read(ctx, to, digest, sfx)
		if err != nil || len(got) != 1 || string(got[0].Payload) != string(want.Payload) || got[0].MediaType != want.MediaType {
			t.Errorf("%s after two copies: %v %+v, want %+v", sfx, err, got, want)
		}
	}
	if err := attach.Copy(ctx, attach.Layout(filepath.Join(t.TempDir(), "empty")), to, digest, attach.Signatures); err != nil {
		t.Errorf("Copy of nothing: %v", err)
	}
}

// TestReadStoreFault checks that a registry that cannot be reached fails
// Read with its own error: not "nothing attached", not a bad document.
func TestReadStoreFault(t *testing.T) {
	repo, err := name.NewRepository("127.0.0.1:1/jails/x")
	if err != nil {
		t.Fatal(err)
	}
	s := attach.Registry(repo, registry.WithBackoff(remote.Backoff{Duration: 1, Steps: 1}))
	_, err = attach.Read(context.Background(), s, digest, attach.Signatures)
	var re *registry.Error
	if !errors.As(err, &re) || errors.Is(err, attach.ErrNotFound) || errors.Is(err, attach.ErrInvalid) {
		t.Errorf("Read from an unreachable registry: %v, want a *registry.Error only", err)
	}
}
