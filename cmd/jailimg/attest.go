package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/attach"
	"github.com/jailimg/jailimg/pkg/build"
	"github.com/jailimg/jailimg/pkg/provenance"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/sign"
)

// attachBuild signs img, just written to the plan's layout, with key,
// and attaches its provenance with --attest, beside it in the layout; it
// returns what push sends with the image. The signature claims the
// identity of the repository --push names, none without it; the
// provenance's subject is that repository, else the recipe's name.
func attachBuild(ctx context.Context, o *buildOptions, r *recipe.Recipe, p *buildPlan, img v1.Image, key *sign.PrivateKey, inputs []build.Input) (attached, error) {
	if key == nil && !o.attest {
		return attached{}, nil
	}
	d, err := img.Digest()
	if err != nil {
		return attached{}, err
	}
	out := p.output
	store := attach.Layout(out)
	identity, subject := "", r.Name
	if p.push != nil {
		identity = p.push.Context().Name()
		subject = identity
	}
	if key != nil {
		if _, err := sign.Sign(ctx, store, d, identity, key); err != nil {
			return attached{}, err
		}
		logger().Info("signed", "output", out, "digest", d.String(), "key", key.Public().String())
	}
	if o.attest {
		st, err := provenance.Statement(buildProvenance(o, r, subject, d, inputs))
		if err != nil {
			return attached{}, err
		}
		if _, err := sign.Attest(ctx, store, d, provenance.PredicateType, st, key); err != nil {
			return attached{}, err
		}
		logger().Info("attached provenance", "output", out, "digest", d.String(), "files", len(inputs), "signed", key != nil)
	}
	return attached{from: store}, nil
}

// buildProvenance describes the build of the image with digest d from r,
// which copied inputs into it: the recipe and its fragments by sha256, the
// settings that change the image, and jailimg's version.
func buildProvenance(o *buildOptions, r *recipe.Recipe, subject string, d v1.Hash, inputs []build.Input) provenance.Build {
	b := provenance.Build{Subject: subject, Digest: d, Parameters: map[string]any{
		"epoch": buildEpoch(r), "compression": buildCompression(o, r), "root": o.root,
	}}
	for i, doc := range r.Documents {
		dep := provenance.Dependency{URI: provenance.FileURI(absPath(doc.Path)), Name: doc.Path, Digest: v1.Hash{Algorithm: "sha256", Hex: doc.SHA256}}
		if i == 0 {
			b.Recipe = dep
		} else {
			b.Dependencies = append(b.Dependencies, dep)
		}
	}
	for _, in := range inputs {
		b.Dependencies = append(b.Dependencies, provenance.Dependency{URI: in.URI, Name: in.Name, Digest: in.Digest})
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.Version = bi.Main.Version
	}
	return b
}

// buildEpoch is the epoch the build used: SOURCE_DATE_EPOCH (runBuild
// checked it), else the recipe's, else 0.
func buildEpoch(r *recipe.Recipe) int64 {
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		sec, _ := strconv.ParseInt(s, 10, 64)
		return sec
	}
	if r.Epoch != nil {
		return *r.Epoch
	}
	return 0
}

// buildCompression is the layer compression the build used: --compression,
// else the recipe's, else gzip.
func buildCompression(o *buildOptions, r *recipe.Recipe) string {
	switch {
	case o.compression != "":
		return o.compression
	case r.Compression != "":
		return r.Compression
	}
	return "gzip"
}

// absPath returns p made absolute, or p when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
