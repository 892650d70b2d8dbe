package recipe

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem in a recipe, located by file, line and key path.
type Error struct {
	File string // recipe file, as given to Load
	Line int    // 1-based line, 0 when unknown
	Key  string // key path, e.g. "files[2].mode"; empty for the whole file
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// decoder maps a YAML node tree onto Go values strictly: every key must be
// known, every value of the expected kind. It exists because yaml.v3's
// KnownFields reports lines but not key paths, and its type errors neither.
type decoder struct {
	file  string
	lines map[string]int // key path -> line, for errors found after decoding
	nodes int            // nodes visited, bounded against alias bombs
	bytes int            // scalar bytes decoded, likewise
}

// maxNodes and maxBytes bound the work and memory of one decode: aliases can
// make a small file expand to a huge tree ("billion laughs"), or repeat a
// long string many times. Without aliases a file cannot reach either.
const (
	maxNodes = 100000
	maxBytes = 2 * maxSize
)

func (d *decoder) errorf(n *yaml.Node, key, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// decode sets v from n: a pointer is allocated unless n is null, a type
// with a scalar form (scalarSetter, encoding.TextUnmarshaler) parses it, and
// structs, lists, maps and plain scalars are decoded by kind.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) error {
	at := n // the alias, not its anchor, is where the limits are hit
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if err := d.count(at, n, key); err != nil {
		return err
	}
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	if v.Kind() == reflect.Pointer {
		if null {
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), key)
	}
	if s, ok := v.Addr().Interface().(scalarSetter); ok && n.Kind == yaml.ScalarNode {
		return d.wrap(n, key, s.setScalar(n.Value))
	}
	if null {
		return nil // leave the zero value; Validate reports what is required
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok && n.Kind == yaml.ScalarNode {
		return d.wrap(n, key, u.UnmarshalText([]byte(n.Value)))
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, key)
	case reflect.Slice:
		return d.decodeSlice(n, v, key)
	case reflect.Map:
		return d.decodeMap(n, v, key)
	}
	return d.decodeScalar(n, v, key)
}

// count charges one node and its value's bytes against the decode's limits.
func (d *decoder) count(at, n *yaml.Node, key string) error {
	if d.nodes++; d.nodes > maxNodes {
		return d.errorf(at, key, "more than %d values (alias loop or bomb?)", maxNodes)
	}
	if d.bytes += len(n.Value); d.bytes > maxBytes {
		return d.errorf(at, key, "more than %d bytes of values (aliases of long strings?)", maxBytes)
	}
	return nil
}

// wrap turns a scalar parser's error into an *Error at n.
func (d *decoder) wrap(n *yaml.Node, key string, err error) error {
	if err != nil {
		return d.errorf(n, key, "%v", err)
	}
	return nil
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.SequenceNode {
		return d.errorf(n, key, "want a list, got %s", kindName(n))
	}
	v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
	for i, item := range n.Content {
		d.lines[fmt.Sprintf("%s[%d]", key, i)] = item.Line
		if err := d.decode(item, v.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
			return err
		}
	}
	return nil
}

// decodeScalar sets a string, bool or integer from a single value.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.ScalarNode {
		return d.errorf(n, key, "want a single value, got %s", kindName(n))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil {
			return d.errorf(n, key, "%q is not true or false", n.Value)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, v.Type().Bits())
		if err != nil {
			return d.errorf(n, key, "%q is not a whole number", n.Value)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.Value, 10, v.Type().Bits())
		if err != nil {
			return d.errorf(n, key, "%q is not a non-negative whole number", n.Value)
		}
		v.SetUint(u)
	default:
		return d.errorf(n, key, "cannot decode into %s", v.Type())
	}
	return nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, key, "want a mapping, got %s", kindName(n))
	}
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		if name := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]; name != "" && name != "-" {
			fields[name] = i
		}
	}
	if len(fields) == 0 { // a value type with a scalar form only, such as Owner
		return d.errorf(n, key, "want a single value, got a mapping")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		sub := joinKey(key, k.Value)
		d.lines[sub] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			return d.errorf(k, sub, "unknown key (known: %s)", strings.Join(sortedKeys(fields), ", "))
		}
		if seen[k.Value] {
			return d.errorf(k, sub, "duplicate key")
		}
		seen[k.Value] = true
		if err := d.decode(val, v.Field(idx), sub); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, key, "want a mapping, got %s", kindName(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.errorf(n, key, "cannot decode into %s", v.Type())
	}
	v.Set(reflect.MakeMapWithSize(v.Type(), len(n.Content)/2))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		sub := joinKey(key, k.Value)
		d.lines[sub] = k.Line
		if k.Kind != yaml.ScalarNode {
			return d.errorf(k, key, "map keys must be plain strings")
		}
		if v.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			return d.errorf(k, sub, "duplicate key")
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(val, elem, sub); err != nil {
			return err
		}
		v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	return nil
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
