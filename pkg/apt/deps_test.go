package apt

import "testing"

// FuzzParseDeps parses arbitrary dependency fields (an index or control
// file is hostile until its signature checks out): errors are fine,
// panics are not, and every possibility names a package.
func FuzzParseDeps(f *testing.F) {
	for _, s := range []string{
		"libc6 (>= 2.34), nginx (<< 1.22.1-9+deb12u9.1~)",
		"debconf (>= 0.5) | debconf-2.0",
		"python3:any (>= 3.9~), foo [amd64] <!nocheck>",
		"${shlibs:Depends}", "a (", "a | | b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rels, err := parseDeps(s)
		if err != nil {
			return
		}
		for _, alts := range rels {
			for _, d := range alts {
				satisfies("1.0", d.op, d.version)
			}
		}
	})
}

// TestSatisfies: the relations of Debian policy 7.1, on dpkg's ordering.
func TestSatisfies(t *testing.T) {
	for _, tc := range []struct {
		v, op, ref string
		want       bool
	}{
		{"1.22.1-9+deb12u9", "<<", "1.22.1-9+deb12u9.1~", true},
		{"1.22.1-9+deb12u11", "<<", "1.22.1-9+deb12u9.1~", false},
		{"1.22.1-9+deb12u11", ">=", "1.22.1-9+deb12u9", true},
		{"1:0.63-4", ">=", "1:0.63-4~", true},
		{"2.36-9", "=", "2.36-9", true},
		{"2.36-9", ">>", "2.36-9", false},
		{"1.0~rc1", "<<", "1.0", true},
		{"1.0", "", "", true},
	} {
		if got := satisfies(tc.v, tc.op, tc.ref); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.v, tc.op, tc.ref, got, tc.want)
		}
	}
}
