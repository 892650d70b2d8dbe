package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Names inside a bundle directory.
const (
	// Current is the symlink naming the live generation.
	Current = "current"
	// GenPrefix starts the name of every generation directory.
	GenPrefix = "gen-"
	// StagingPrefix starts the name of a generation being written.
	StagingPrefix = ".staging-"
	// RootFS is the jail tree inside a generation.
	RootFS = "rootfs"
	// MetaFile holds the generation's Meta as JSON.
	MetaFile = "image.json"
)

// PolicyLabel is the image config label that carries a Policy as JSON.
const PolicyLabel = "dev.jailimg.policy"

// ErrNotBundle is returned by Open for a directory that holds no live generation.
var ErrNotBundle = errors.New("not a jailimg bundle")

// Meta records what a generation was unpacked from.
type Meta struct {
	// ManifestDigest is the digest of the image manifest, e.g. "sha256:…".
	ManifestDigest string `json:"manifestDigest"`
	// Source is the reference or layout the image came from, for humans.
	Source string `json:"source,omitempty"`
	// Config is the image's OCI config: entrypoint, cmd, user, env, labels.
	Config v1.ConfigFile `json:"config"`
}

// Bundle is one opened generation of a bundle.
type Bundle struct {
	// Dir is the bundle directory (TARGET).
	Dir string
	// Gen is the absolute path of the live generation directory.
	Gen string
	// Meta describes the image the generation holds.
	Meta Meta
}

// RootFS returns the path of the jail tree of the generation.
func (b *Bundle) RootFS() string { return filepath.Join(b.Gen, RootFS) }

// Policy returns the run policy carried by the image config, or a zero Policy
// when the image has none.
func (b *Bundle) Policy() (Policy, error) {
	return PolicyFromConfig(&b.Meta.Config)
}

// Open resolves dir/current once and reads the live generation's Meta.
func Open(dir string) (*Bundle, error) {
	target, err := os.Readlink(filepath.Join(dir, Current))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (no %s link)", dir, ErrNotBundle, Current)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if !strings.HasPrefix(target, GenPrefix) || strings.ContainsRune(target, '/') {
		return nil, fmt.Errorf("%s: %w: %s points to %q", dir, ErrNotBundle, Current, target)
	}
	abs, err := filepath.Abs(filepath.Join(dir, target))
	if err != nil {
		return nil, err
	}
	b := &Bundle{Dir: dir, Gen: abs}
	raw, err := os.ReadFile(filepath.Join(abs, MetaFile))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", dir, MetaFile, err)
	}
	if err := json.Unmarshal(raw, &b.Meta); err != nil {
		return nil, fmt.Errorf("%s: parsing %s: %w", filepath.Join(abs, MetaFile), MetaFile, err)
	}
	return b, nil
}
