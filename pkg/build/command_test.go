package build

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/pkg/recipe"
)

// TestCommandInJail: a recipe whose program (entrypoint[0], else cmd[0])
// is not an executable of the jail fails to build, naming its recipe line,
// instead of building a jail that `jailimg run` cannot start (127).
func TestCommandInJail(t *testing.T) {
	const base = "name: x\nbinaries: [/usr/bin/true]\n"
	for _, tc := range []struct {
		name, recipe, want string // want "" for a build that succeeds
	}{
		{"entrypoint", base + "entrypoint: [/usr/bin/true, -x]\n", ""},
		{"entrypoint through a symlink", base + "symlinks: [{path: /bin, target: usr/bin}]\nentrypoint: [/bin/true]\n", ""},
		{"entrypoint through an absolute symlink", base + "symlinks: [{path: /sbin/t, target: /usr/bin/true}]\nentrypoint: [/sbin/t]\n", ""},
		{"bare name in the default PATH", base + "entrypoint: [true]\n", ""},
		{"cmd without entrypoint", base + "cmd: [/usr/bin/true]\n", ""},
		{"cmd after an entrypoint is an argument", base + "entrypoint: [/usr/bin/true]\ncmd: [/srv/script.py]\n", ""},
		{"missing entrypoint", base + "entrypoint: [/usr/sbin/nothere, -d]\n", "r.yaml:3: entrypoint[0]: /usr/sbin/nothere is not in the jail (add it under binaries: or files:)"},
		{"missing cmd", base + "cmd: [/usr/sbin/nothere]\n", "r.yaml:3: cmd[0]: /usr/sbin/nothere is not in the jail"},
		{"dangling symlink", base + "symlinks: [{path: /bin/t, target: nothere}]\nentrypoint: [/bin/t]\n", "entrypoint[0]: /bin/t is not in the jail"},
		{"not executable", "name: x\nfiles: [{src: f, dst: /bin/f, mode: 0644}]\nentrypoint: [/bin/f]\n", "entrypoint[0]: /bin/f is not an executable file in the jail (a file, mode 0644)"},
		{"a directory", base + "dirs: [{path: /srv/app}]\nentrypoint: [/srv/app]\n", "entrypoint[0]: /srv/app is not an executable file in the jail (a dir"},
		{"bare name not in PATH", base + "env: {PATH: /bin}\nentrypoint: [true]\n", "entrypoint[0]: true is not found in the jail's PATH /bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := load(t, tc.recipe, map[string]string{"f": "#!/bin/sh\n"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Tree(context.Background(), r)
			var re *recipe.Error
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("build: %v, want success", err)
			case tc.want != "" && (!errors.As(err, &re) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("build: %v; want a recipe error naming %q", err, tc.want)
			}
		})
	}
}
