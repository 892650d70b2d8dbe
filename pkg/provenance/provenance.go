package provenance

import (
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Type URIs of the statement.
const (
	// StatementType is the in-toto statement's _type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is SLSA provenance v1's: cosign's slsaprovenance1.
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names what the build definition's parameters mean: the
	// section of jailimg's docs/signing.md describing them.
	BuildType = "https://github.com/jailimg/jailimg/blob/main/docs/signing.md#provenance"
	// BuilderID names jailimg as the builder.
	BuilderID = "https://github.com/jailimg/jailimg/cmd/jailimg"
)

// Dependency is a resolved dependency of the build: a file it copied into
// the image (or a package it installed), and the sha256 of its bytes.
type Dependency struct {
	// URI names it: file:///usr/sbin/nginx for a file.
	URI string
	// Name is where it is in the image (/usr/sbin/nginx), or a package's name.
	Name string
	// Digest is the sha256 of what the build read.
	Digest v1.Hash
}

// FileURI returns the file:// URI of the absolute path p.
func FileURI(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// Build is what a build took and who made it.
type Build struct {
	// Subject names the image (its repository, or the recipe's name) and
	// Digest is its manifest digest: the statement's subject.
	Subject string
	Digest  v1.Hash
	// Recipe is the recipe file, by path and sha256: the external
	// parameter that says what to build.
	Recipe Dependency
	// Parameters are the other external parameters that change the
	// image (epoch, compression, build root), by name.
	Parameters map[string]any
	// Dependencies are the files the build copied, and the recipe's
	// fragments; Statement sorts them by URI, then Name.
	Dependencies []Dependency
	// Version is jailimg's version, the builder's.
	Version string
}

// statement and the types below are the JSON of the in-toto statement
// with its SLSA v1 predicate, fields in the specification's order.
type statement struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     predicate `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type predicate struct {
	BuildDefinition buildDefinition `json:"buildDefinition"`
	RunDetails      runDetails      `json:"runDetails"`
}

type buildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	ResolvedDependencies []resourceDescriptor `json:"resolvedDependencies"`
}

type resourceDescriptor struct {
	URI    string            `json:"uri"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

type runDetails struct {
	Builder builder `json:"builder"`
}

type builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Statement returns the in-toto statement of b's SLSA provenance, as
// JSON.
func Statement(b Build) ([]byte, error) {
	if b.Digest.Algorithm != "sha256" {
		return nil, errors.New("provenance: the image's digest must be sha256")
	}
	params := map[string]any{"recipe": descriptor(b.Recipe)}
	for k, v := range b.Parameters {
		params[k] = v
	}
	deps := append([]Dependency(nil), b.Dependencies...)
	sort.Slice(deps, func(i, j int) bool {
		if deps[i].URI != deps[j].URI {
			return deps[i].URI < deps[j].URI
		}
		return deps[i].Name < deps[j].Name
	})
	resolved := make([]resourceDescriptor, len(deps))
	for i, d := range deps {
		resolved[i] = descriptor(d)
	}
	st := statement{
		Type:          StatementType,
		Subject:       []subject{{Name: b.Subject, Digest: map[string]string{"sha256": b.Digest.Hex}}},
		PredicateType: PredicateType,
		Predicate: predicate{
			BuildDefinition: buildDefinition{BuildType: BuildType, ExternalParameters: params, ResolvedDependencies: resolved},
			RunDetails:      runDetails{Builder: builder{ID: BuilderID}},
		},
	}
	if b.Version != "" {
		st.Predicate.RunDetails.Builder.Version = map[string]string{"jailimg": b.Version}
	}
	return json.Marshal(st)
}

func descriptor(d Dependency) resourceDescriptor {
	return resourceDescriptor{URI: d.URI, Name: d.Name, Digest: map[string]string{d.Digest.Algorithm: d.Digest.Hex}}
}
