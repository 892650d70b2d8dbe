package lazyre

import "testing"

func TestNew(t *testing.T) {
	re := New(`^[a-z0-9][a-z0-9._-]{0,127}$`)
	if first, second := re(), re(); first != second {
		t.Error("New compiled twice")
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{{"nginx", true}, {"Nginx", false}, {"a" + string(make([]byte, 200)), false}} {
		if got := re().MatchString(tc.in); got != tc.want {
			t.Errorf("MatchString(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
