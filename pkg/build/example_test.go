package build_test

import (
	"context"
	"fmt"

	"github.com/jailimg/jailimg/pkg/build"
	"github.com/jailimg/jailimg/pkg/recipe"
)

// A recipe that copies nothing from the host builds to the same digest on
// every machine: this output pins the whole encoding (tar, gzip, config,
// manifest). It has no entrypoint: the build refuses one that is not an
// executable of the jail, and this jail holds no program.
func ExampleImage() {
	r, err := recipe.Parse("skeleton.yaml", []byte(`
name: skeleton
version: "1"
dirs:
  - {path: /tmp, mode: 01777}
  - {path: /var/log/svc, mode: 0750, owner: svc, group: svc}
symlinks:
  - {path: /run, target: var/run}
devices: [null, zero, urandom]
users: [{name: svc, uid: 100, gid: 100}]
groups: [{name: svc, gid: 100}]
nss: [files]
user: svc
env: {LANG: C}
run: {writable: [/var/log/svc], rlimits: {nofile: 64}}
`))
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		panic(err)
	}
	img, err := build.Image(context.Background(), r, build.WithEpoch(1700000000))
	if err != nil {
		panic(err)
	}
	digest, _ := img.Digest()
	fmt.Println(digest)
	// Output:
	// sha256:cf54c8bd4d1f4c986b5210c3f640cb6cf823a32c7cd772219cc8404cabe2fb90
}
