package build

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jailimg/jailimg/pkg/image"
	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/recipe"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageConfig maps the recipe's run-time settings and metadata onto the
// image config and manifest annotations.
func imageConfig(r *recipe.Recipe, arch string, created time.Time) (image.Config, error) {
	c := image.Config{
		Config: ocispec.ImageConfig{
			Entrypoint: r.Entrypoint,
			Cmd:        r.Cmd,
			User:       r.User,
			WorkingDir: r.Workdir,
		},
		Platform:  ocispec.Platform{OS: "linux", Architecture: arch},
		Created:   created,
		CreatedBy: "jailimg build " + r.Name,
		Annotations: map[string]string{
			ocispec.AnnotationTitle:   r.Name,
			ocispec.AnnotationCreated: created.Format(time.RFC3339),
		},
	}
	if r.Version != "" {
		c.Annotations[ocispec.AnnotationVersion] = r.Version
	}
	for k, v := range r.Annotations {
		c.Annotations[k] = v
	}
	keys := make([]string, 0, len(r.Env))
	for k := range r.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.Config.Env = append(c.Config.Env, k+"="+r.Env[k])
	}
	if !r.Run.IsZero() {
		raw, err := json.Marshal(r.Run)
		if err != nil {
			return c, fmt.Errorf("encoding run policy: %w", err)
		}
		c.Config.Labels = map[string]string{policy.Label: string(raw)}
	}
	return c, nil
}
