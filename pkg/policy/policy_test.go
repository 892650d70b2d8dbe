package policy

import (
	"encoding/json"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPolicyRoundTrip(t *testing.T) {
	want := Policy{Writable: []string{"/var/log"}, Rlimits: map[string]uint64{"nofile": 64}, Seccomp: true, Landlock: true, Network: "none", Umask: 0o27}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &v1.ConfigFile{Config: v1.Config{Labels: map[string]string{Label: string(raw)}}}
	got, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: %+v, want %+v", got, want)
	}
}

func TestOctal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Octal
		ok   bool
	}{
		{`23`, 23, true}, {`"027"`, 0o27, true}, {`"0o777"`, 0o777, true}, {`"9"`, 0, false}, {`-1`, 0, false}, {`"x"`, 0, false},
	} {
		var o Octal
		err := json.Unmarshal([]byte(tc.in), &o)
		if (err == nil) != tc.ok || (tc.ok && o != tc.want) {
			t.Errorf("Unmarshal(%s) = %o, %v; want %o ok=%v", tc.in, o, err, tc.want, tc.ok)
		}
	}
}
