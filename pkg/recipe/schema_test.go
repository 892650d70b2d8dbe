package recipe_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jailimg/jailimg/pkg/policy"
	"github.com/jailimg/jailimg/pkg/recipe"
)

// schema is a JSON Schema node, as decoded by encoding/json.
type schema = map[string]any

func loadSchema(t *testing.T) schema {
	t.Helper()
	data, err := os.ReadFile("../../docs/recipe.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("docs/recipe.schema.json: %v", err)
	}
	return s
}

// deref follows a local "$ref": "#/$defs/NAME".
func deref(t *testing.T, root, n schema) schema {
	t.Helper()
	ref, ok := n["$ref"].(string)
	if !ok {
		return n
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		t.Fatalf("$ref %q: only #/$defs/NAME is supported", ref)
	}
	def, ok := root["$defs"].(schema)[name].(schema)
	if !ok {
		t.Fatalf("$ref %q: no such definition", ref)
	}
	return deref(t, root, def)
}

// object finds the mapping schema that n describes, directly, through a $ref
// or as the one branch of a oneOf/anyOf that has properties.
func object(t *testing.T, root, n schema) schema {
	t.Helper()
	n = deref(t, root, n)
	if _, ok := n["properties"]; ok {
		return n
	}
	var found []schema
	for _, k := range []string{"oneOf", "anyOf"} {
		branches, _ := n[k].([]any)
		for _, b := range branches {
			if b := deref(t, root, b.(schema)); b["properties"] != nil {
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one mapping schema, found %d in %v", len(found), n)
	}
	return found[0]
}

// yamlKeys returns the YAML keys the strict decoder accepts for a struct.
func yamlKeys(typ reflect.Type) []string {
	var keys []string
	for i := range typ.NumField() {
		if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}

func propertyNames(n schema) []string {
	var keys []string
	for k := range n["properties"].(schema) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSchemaMatchesTypes keeps docs/recipe.schema.json in step with the Go
// types: at every level the schema lists exactly the keys the decoder accepts
// and, like the decoder, refuses any other.
func TestSchemaMatchesTypes(t *testing.T) {
	root := loadSchema(t)
	top := root["properties"].(schema)
	item := func(key string) schema { return top[key].(schema)["items"].(schema) }
	for _, tc := range []struct {
		name string
		node schema
		typ  reflect.Type
	}{
		{"top level", root, reflect.TypeFor[recipe.Recipe]()},
		{"binaries[]", item("binaries"), reflect.TypeFor[recipe.Binary]()},
		{"files[]", item("files"), reflect.TypeFor[recipe.File]()},
		{"dirs[]", item("dirs"), reflect.TypeFor[recipe.Dir]()},
		{"symlinks[]", item("symlinks"), reflect.TypeFor[recipe.Symlink]()},
		{"devices[]", item("devices"), reflect.TypeFor[recipe.Device]()},
		{"users[]", item("users"), reflect.TypeFor[recipe.User]()},
		{"groups[]", item("groups"), reflect.TypeFor[recipe.Group]()},
		{"run", top["run"].(schema), reflect.TypeFor[policy.Policy]()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, root, tc.node)
			if got, want := propertyNames(obj), yamlKeys(tc.typ); !slices.Equal(got, want) {
				t.Errorf("schema properties %v, %s yaml keys %v", got, tc.typ, want)
			}
			if ap, ok := obj["additionalProperties"].(bool); !ok || ap {
				t.Errorf("additionalProperties = %v, want false (the decoder is strict)", obj["additionalProperties"])
			}
		})
	}
}

// TestSchemaTables checks the schema's enums against the tables Validate uses.
func TestSchemaTables(t *testing.T) {
	root := loadSchema(t)
	defs := root["$defs"].(schema)

	var safe []any
	for name := range recipe.SafeDevices {
		safe = append(safe, name)
	}
	safe = append(safe, nil) // YAML reads a bare `null` as null: the null device
	if got := defs["safeDevice"].(schema)["enum"].([]any); !sameSet(got, safe) {
		t.Errorf("safeDevice enum %v, want %v", got, safe)
	}

	var limits []any
	for _, name := range recipe.Rlimits {
		limits = append(limits, name)
	}
	rl := deref(t, root, defs["run"].(schema))["properties"].(schema)["rlimits"].(schema)
	if got := rl["propertyNames"].(schema)["enum"].([]any); !sameSet(got, limits) {
		t.Errorf("rlimits names %v, want %v", got, limits)
	}

	var hostfiles []any
	for _, h := range policy.HostFiles {
		hostfiles = append(hostfiles, h)
	}
	hf := deref(t, root, defs["run"].(schema))["properties"].(schema)["hostfiles"].(schema)
	if got := hf["items"].(schema)["enum"].([]any); !sameSet(got, hostfiles) {
		t.Errorf("run.hostfiles %v, want %v", got, hostfiles)
	}

	var kinds []any
	for _, k := range recipe.AcceptKinds {
		kinds = append(kinds, k)
	}
	acc := deref(t, root, defs["run"].(schema))["properties"].(schema)["accept"].(schema)
	if got := acc["items"].(schema)["enum"].([]any); !sameSet(got, kinds) {
		t.Errorf("run.accept kinds %v, want %v", got, kinds)
	}
}

func sameSet(a, b []any) bool {
	key := func(v any) string { s, _ := json.Marshal(v); return string(s) }
	as, bs := make([]string, 0, len(a)), make([]string, 0, len(b))
	for _, v := range a {
		as = append(as, key(v))
	}
	for _, v := range b {
		bs = append(bs, key(v))
	}
	sort.Strings(as)
	sort.Strings(bs)
	return slices.Equal(as, bs)
}

// TestExampleRecipes parses and validates every sample recipe and the
// complete example of docs/recipe.md. Neither step reads host files.
func TestExampleRecipes(t *testing.T) {
	files, err := filepath.Glob("../../recipes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recipes/*.yaml found")
	}
	docs := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = data
	}
	md, err := os.ReadFile("../../docs/recipe.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), "\n## Complete example\n")
	if !ok {
		t.Fatal(`docs/recipe.md: no "## Complete example" section`)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("docs/recipe.md: no ```yaml block in the complete example")
	}
	docs["../../docs/recipe.md#complete-example"] = []byte(example)

	for name, data := range docs {
		t.Run(filepath.Base(name), func(t *testing.T) {
			r, err := recipe.Parse(name, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
