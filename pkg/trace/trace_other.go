//go:build !(linux && amd64)

package trace

import "context"

func trace(context.Context, []string, *options) (*Result, error) {
	return nil, ErrUnsupported
}
