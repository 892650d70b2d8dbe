package printable

import "testing"

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/bash":      "/usr/bin/bash",
		"/a b/é":             "/a b/é",
		"/x\nsetuid\t/y":     `"/x\nsetuid\t/y"`,
		"/etc/\x1b[31mred":   `"/etc/\x1b[31mred"`,
		"/bad\xffutf8":       `"/bad\xffutf8"`,
		"/c1\u0085next-line": `"/c1\u0085next-line"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
