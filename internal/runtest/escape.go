package runtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// Attempt is one line of the escape program's output
// (pkg/run/testdata/escape): a way out of a jail, and whether it worked.
type Attempt struct {
	Name    string `json:"name"`
	Escaped bool   `json:"escaped"`
	Err     string `json:"err"`
}

// Attempts reads the escape program's output, one JSON Attempt a line, by
// name; a line that is not one fails the test.
func Attempts(t testing.TB, out []byte) map[string]Attempt {
	t.Helper()
	got := map[string]Attempt{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var a Attempt
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("escape output %q: %v", sc.Text(), err)
		}
		got[a.Name] = a
	}
	return got
}
