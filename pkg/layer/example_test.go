package layer_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jailimg/jailimg/pkg/layer"
	"github.com/jailimg/jailimg/pkg/tree"
)

// The digest of a layer depends on nothing but the tree and the options:
// this output pins the tar and gzip encoding across releases.
func ExampleFromTree() {
	t := tree.New()
	t.Add(tree.Entry{Path: "/etc/hostname", Type: tree.Reg, Mode: 0o444, Size: 5,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("jail\n")), nil }})
	t.Add(tree.Entry{Path: "/dev/null", Type: tree.CharDev, Mode: 0o666, Major: 1, Minor: 3})
	l, err := layer.FromTree(context.Background(), t)
	if err != nil {
		panic(err)
	}
	digest, _ := l.Digest()
	diffID, _ := l.DiffID()
	fmt.Println(digest)
	fmt.Println(diffID)
	// Output:
	// sha256:e18e55537810b19ac4d9bf319c39aeaa30707a53650bfca02666b22733211fba
	// sha256:508d752f303187400eca2dd6991d0db66a12fb064d503a2eb6f36d8cb74f4353
}
