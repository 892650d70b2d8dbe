package build

import (
	"context"

	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/tree"
)

// Tree is Image's first step, the recipe's jail tree checked for unsafe
// modes, for the tests to look into.
func Tree(ctx context.Context, r *recipe.Recipe, opts ...Option) (*tree.Tree, error) {
	b, err := buildTree(ctx, r, makeOptions(r, opts))
	if err != nil {
		return nil, err
	}
	return b.t, nil
}
