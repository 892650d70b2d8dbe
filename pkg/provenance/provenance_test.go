package provenance_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/jailimg/jailimg/pkg/provenance"
)

func hash(c string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(c, 64)} }

func ExampleStatement() {
	st, err := provenance.Statement(provenance.Build{
		Subject:    "registry.example/jails/nginx",
		Digest:     hash("d"),
		Recipe:     provenance.Dependency{URI: provenance.FileURI("/src/recipes/nginx.yaml"), Name: "recipes/nginx.yaml", Digest: hash("r")},
		Parameters: map[string]any{"epoch": 0, "compression": "gzip", "root": "/"},
		Dependencies: []provenance.Dependency{
			{URI: provenance.FileURI("/usr/sbin/nginx"), Name: "/usr/sbin/nginx", Digest: hash("2")},
			{URI: provenance.FileURI("/usr/lib/x86_64-linux-gnu/libc.so.6"), Name: "/usr/lib/x86_64-linux-gnu/libc.so.6", Digest: hash("1")},
		},
		Version: "v1.0.0",
	})
	if err != nil {
		panic(err)
	}
	var v any
	json.Unmarshal(st, &v)
	out, _ := json.MarshalIndent(v, "", " ")
	fmt.Println(strings.NewReplacer(strings.Repeat("d", 64), "D…", strings.Repeat("r", 64), "R…", strings.Repeat("1", 64), "1…", strings.Repeat("2", 64), "2…").Replace(string(out)))
	// Output:
	// {
	//  "_type": "https://in-toto.io/Statement/v1",
	//  "predicate": {
	//   "buildDefinition": {
	//    "buildType": "https://github.com/jailimg/jailimg/blob/main/docs/signing.md#provenance",
	//    "externalParameters": {
	//     "compression": "gzip",
	//     "epoch": 0,
	//     "recipe": {
	//      "digest": {
	//       "sha256": "R…"
	//      },
	//      "name": "recipes/nginx.yaml",
	//      "uri": "file:///src/recipes/nginx.yaml"
	//     },
	//     "root": "/"
	//    },
	//    "resolvedDependencies": [
	//     {
	//      "digest": {
	//       "sha256": "1…"
	//      },
	//      "name": "/usr/lib/x86_64-linux-gnu/libc.so.6",
	//      "uri": "file:///usr/lib/x86_64-linux-gnu/libc.so.6"
	//     },
	//     {
	//      "digest": {
	//       "sha256": "2…"
	//      },
	//      "name": "/usr/sbin/nginx",
	//      "uri": "file:///usr/sbin/nginx"
	//     }
	//    ]
	//   },
	//   "runDetails": {
	//    "builder": {
	//     "id": "https://github.com/jailimg/jailimg/cmd/jailimg",
	//     "version": {
	//      "jailimg": "v1.0.0"
	//     }
	//    }
	//   }
	//  },
	//  "predicateType": "https://slsa.dev/provenance/v1",
	//  "subject": [
	//   {
	//    "digest": {
	//     "sha256": "D…"
	//    },
	//    "name": "registry.example/jails/nginx"
	//   }
	//  ]
	// }
}

func TestStatementDeterministic(t *testing.T) {
	b := provenance.Build{Subject: "x", Digest: hash("d"), Dependencies: []provenance.Dependency{
		{URI: "file:///b", Digest: hash("1")}, {URI: "file:///a", Name: "2", Digest: hash("2")}, {URI: "file:///a", Name: "1", Digest: hash("3")},
	}}
	first, err := provenance.Statement(b)
	if err != nil {
		t.Fatal(err)
	}
	b.Dependencies[0], b.Dependencies[2] = b.Dependencies[2], b.Dependencies[0]
	again, _ := provenance.Statement(b)
	if string(first) != string(again) {
		t.Errorf("the order of the dependencies given changed the statement:\n%s\n%s", first, again)
	}
	if i, j := strings.Index(string(first), `"name":"1"`), strings.Index(string(first), `"name":"2"`); i < 0 || i > j {
		t.Errorf("dependencies not sorted by URI, then name: %s", first)
	}
	if _, err := provenance.Statement(provenance.Build{Digest: v1.Hash{Algorithm: "sha512", Hex: "00"}}); err == nil {
		t.Error("a sha512 subject was accepted")
	}
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/sbin/nginx":  "file:///usr/sbin/nginx",
		"/etc/a b#c?d%e":   "file:///etc/a%20b%23c%3Fd%25e",
		"/srv/jail/étoile": "file:///srv/jail/%C3%A9toile",
	} {
		if got := provenance.FileURI(in); got != want {
			t.Errorf("FileURI(%q) = %q, want %q", in, got, want)
		}
	}
}
