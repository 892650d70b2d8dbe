package policy

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPolicyRoundTrip(t *testing.T) {
	off := false
	want := Policy{Runtime: []string{"/run/x"}, State: []string{"/var/lib/x"}, Cache: []string{"/var/cache/x"},
		Logs: []string{"/var/log/x"}, Tmp: true, TmpfsSize: 1 << 20, Syslog: true, Hostfiles: []string{"/etc/hosts"},
		Writable: []string{"/srv"}, Rlimits: map[string]uint64{"nofile": 64}, Seccomp: &off, Landlock: &off,
		Network: "none", PID: Host, IPC: Host, Umask: 0o27}
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

// TestDefaults: a zero Policy is the confined one, an image written before
// seccomp and Landlock were defaults reads as it asked, and every opt-out
// is listed.
func TestDefaults(t *testing.T) {
	on := true
	tests := []struct {
		name, label string
		seccomp     bool
		landlock    bool
		optOuts     []string
	}{
		{"no label", "", true, true, nil},
		{"old image asking for both", `{"seccomp":true,"landlock":true}`, true, true, nil},
		{"opt-outs", `{"seccomp":false,"landlock":false,"pid":"host","ipc":"host"}`, false, false,
			[]string{"seccomp: false", "landlock: false", "pid: host", "ipc: host"}},
		{"private namespaces named", `{"pid":"private","ipc":"private"}`, true, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &v1.ConfigFile{}
			if tt.label != "" {
				cfg.Config.Labels = map[string]string{Label: tt.label}
			}
			p, err := FromConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.SeccompOn() != tt.seccomp || p.LandlockOn() != tt.landlock || !slices.Equal(p.OptOuts(), tt.optOuts) {
				t.Errorf("seccomp %v landlock %v opt-outs %q; want %v %v %q", p.SeccompOn(), p.LandlockOn(), p.OptOuts(), tt.seccomp, tt.landlock, tt.optOuts)
			}
		})
	}
	if !(Policy{}).IsZero() || (Policy{Seccomp: &on}).IsZero() || (Policy{Tmp: true}).IsZero() || (Policy{PID: Host}).IsZero() {
		t.Error("IsZero: want true only for the zero Policy")
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

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		ok   bool
	}{
		{`65536`, 65536, true}, {`"512K"`, 512 << 10, true}, {`"64M"`, 64 << 20, true}, {`"1GiB"`, 1 << 30, true},
		{`"64MiB"`, 64 << 20, true}, {`"12"`, 12, true}, {`"1T"`, 0, false}, {`"-1M"`, 0, false}, {`"M"`, 0, false},
		{`"17179869184G"`, 0, false}, {`-5`, 0, false},
	} {
		var z Size
		err := json.Unmarshal([]byte(tc.in), &z)
		if (err == nil) != tc.ok || (tc.ok && z != tc.want) {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d ok=%v", tc.in, z, err, tc.want, tc.ok)
		}
	}
}

// TestSizeString: a Size is written in the largest unit it is a whole
// number of, and ParseSize reads it back.
func TestSizeString(t *testing.T) {
	for _, tc := range []struct {
		z    Size
		want string
	}{
		{0, "0"}, {1000, "1000"}, {512 << 10, "512K"}, {64 << 20, "64M"}, {1536 << 20, "1536M"},
		{1 << 30, "1G"}, {24 << 30, "24G"}, {8<<30 + 1, "8589934593"}, {1<<64 - 1, "18446744073709551615"},
	} {
		got := tc.z.String()
		back, err := ParseSize(got)
		if got != tc.want || err != nil || back != tc.z {
			t.Errorf("Size(%d).String() = %q, read back as %d, %v; want %q", uint64(tc.z), got, back, err, tc.want)
		}
	}
}
