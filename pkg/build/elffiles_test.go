package build

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jailimg/jailimg/internal/testutil"
)

// TestFilesClosure copies python's lib-dynload, whose extension modules
// need libraries python itself does not (libsqlite3, liblzma, libssl): the
// jail gets them, as the closure of a binary, unless the entry says
// closure: false. Before, `import sqlite3` failed in such a jail with
// "libsqlite3.so.0: cannot open shared object file".
func TestFilesClosure(t *testing.T) {
	const dynload = "/usr/lib/python3.11/lib-dynload"
	testutil.NeedFile(t, "/usr/bin/python3.11", "python3.11")
	sqlite, _ := filepath.Glob(dynload + "/_sqlite3.*.so")
	if len(sqlite) != 1 {
		testutil.Skipf(t, "no _sqlite3 module in %s", dynload)
	}
	libs := []string{"libsqlite3.so.0", "liblzma.so.5", "libssl.so.3"}
	const head = "name: py\nbinaries: [/usr/bin/python3.11]\nfiles:\n"
	for _, tc := range []struct {
		name, files string
		want        []string // libraries the jail must hold; the others it must not
	}{
		{"directory", "  - {src: " + dynload + ", dst: " + dynload + "}\n", libs},
		{"directory elsewhere, read-only", "  - {src: " + dynload + ", dst: /opt/py/dynload, mode: 0555}\n", libs},
		{"one module", "  - {src: " + sqlite[0] + ", dst: /opt/sqlite.so}\n", libs[:1]},
		{"closure: false", "  - {src: " + dynload + ", dst: " + dynload + ", closure: false}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := load(t, head+tc.files, nil)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := Tree(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			for i, lib := range libs {
				if _, has := tr.Get("/usr/lib/x86_64-linux-gnu/" + lib); has != (i < len(tc.want)) {
					t.Errorf("%s in the jail: %v, want %v", lib, has, i < len(tc.want))
				}
			}
		})
	}
}
