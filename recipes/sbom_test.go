package recipes_test

import (
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/jailimg/jailimg/internal/registrytest"
	"github.com/jailimg/jailimg/pkg/lock"
)

// sbomFromRegistry pushes the layout to Debian's docker-registry (which has
// no referrers API) with jailimg push, finds the SBOM attached to the
// image's digest with go-containerregistry's remote.Referrers (through the
// referrers tag schema), fetches it, and has syft convert read it: it must
// list every locked package at its locked version, with a purl.
func sbomFromRegistry(t *testing.T, layoutDir, digest string, l *lock.Lock) {
	reg := registrytest.Start(t)
	ref := reg.Ref("jails/nginx-pkg:1.22")
	if got := mustJailimg(t, "-q", "push", layoutDir, ref); got != digest+"\n" {
		t.Fatalf("jailimg push printed %q, want %s", got, digest)
	}
	subject, err := name.NewDigest(reg.Ref("jails/nginx-pkg@" + digest))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(subject)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var spdx []byte
	for _, d := range im.Manifests {
		if d.ArtifactType == "application/spdx+json" {
			spdx = fetchArtifact(t, subject.Context().Digest(d.Digest.String()))
		}
	}
	if spdx == nil {
		t.Fatalf("no application/spdx+json referrer of %s: %+v", subject, im.Manifests)
	}
	doc := syftConvert(t, spdx)
	found := map[string]string{}
	for _, a := range doc.Artifacts {
		found[a.Name+"="+a.Version] = a.PURL
	}
	for _, p := range l.Packages {
		if found[p.Ref()] == "" {
			t.Errorf("syft convert does not list %s with a purl (found %v)", p.Ref(), found)
		}
	}
	t.Logf("syft convert lists %d packages of the lock's %d", len(doc.Artifacts), len(l.Packages))
}

// fetchArtifact returns the one document of the artifact d.
func fetchArtifact(t *testing.T, d name.Digest) []byte {
	t.Helper()
	art, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := art.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("artifact %s: %d layers, %v", d, len(layers), err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
