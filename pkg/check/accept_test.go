package check_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jailimg/jailimg/pkg/check"
	"github.com/jailimg/jailimg/pkg/recipe"
)

// TestKindsMatchRecipe keeps the kinds a recipe's run.accept may name equal
// to the kinds Run reports.
func TestKindsMatchRecipe(t *testing.T) {
	var kinds []string
	for _, k := range check.Kinds {
		kinds = append(kinds, string(k))
	}
	if !slices.Equal(kinds, recipe.CheckKinds) {
		t.Errorf("check.Kinds %v != recipe.CheckKinds %v", kinds, recipe.CheckKinds)
	}
}

func TestAccept(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "bin/sh"), []byte("#!"), 0o755)
	os.WriteFile(filepath.Join(root, "open"), []byte("x"), 0o644)
	os.Chmod(filepath.Join(root, "open"), 0o666) // past the umask
	findings, err := check.Run(context.Background(), root, check.WithAccept(check.KindInterpreter))
	if err != nil {
		t.Fatal(err)
	}
	var accepted, failing []check.Kind
	for _, f := range findings {
		if f.Accepted {
			accepted = append(accepted, f.Kind)
		}
	}
	for _, f := range check.Failing(findings) {
		failing = append(failing, f.Kind)
	}
	if !slices.Equal(accepted, []check.Kind{check.KindInterpreter}) || !slices.Equal(failing, []check.Kind{check.KindWorldWritable}) {
		t.Errorf("accepted %v, failing %v; want [interpreter], [world-writable]", accepted, failing)
	}
}
