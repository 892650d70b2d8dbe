package resolve

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestMissingSearched: a missing library is reported with where the loader
// would have looked, in its order: the object's DT_RUNPATH, ld.so.conf's
// directories, the system directories; a name with a '/' is the path.
func TestMissingSearched(t *testing.T) {
	root := mkTree(t, with(debianBase(), tree{
		"/usr/bin/app":             elfSpec{interp: interp, needed: []string{"libc.so.6", "libnope.so.1", "/opt/x/libabs.so"}, runpath: "/opt/r"},
		"/etc/ld.so.conf":          "include /etc/ld.so.conf.d/*.conf\n",
		"/etc/ld.so.conf.d/a.conf": "/usr/local/lib\n",
	}))
	r, err := New(os.DirFS(root), WithHWCaps())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := r.Resolve(context.Background(), Request{Binaries: []string{"/usr/bin/app"}})
	var me *MissingLibError
	if !errors.As(err, &me) {
		t.Fatalf("Resolve: %v, want a *MissingLibError", err)
	}
	want := map[string][]string{
		"libnope.so.1":     {"/opt/r/", "/usr/local/lib/", "/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib/", "/usr/lib/"},
		"/opt/x/libabs.so": {"/opt/x/libabs.so"},
	}
	for _, m := range cl.Missing {
		if w, ok := want[m.Soname]; !ok || !slices.Equal(m.Searched, w) {
			t.Errorf("%s missing, searched %q; want %q", m.Soname, m.Searched, w)
		}
		delete(want, m.Soname)
	}
	if len(want) > 0 {
		t.Errorf("not reported missing: %v", want)
	}
	if msg := me.Error(); !strings.Contains(msg, "not found in /opt/r/, /usr/local/lib/, ") {
		t.Errorf("error %q: want the directories searched", msg)
	}
}
