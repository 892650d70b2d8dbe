package recipe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/jailimg/jailimg/internal/readfile"
	"go.yaml.in/yaml/v3"
)

// maxSize is the largest recipe (or included fragment) file Load reads.
const maxSize = 1 << 20

// Load reads, decodes and validates the recipe at path.
func Load(path string) (*Recipe, error) {
	f, err := readfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readfile.Regular(f, maxSize)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	r, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := r.include(); err != nil {
		return nil, err
	}
	return r, r.Validate()
}

// Parse decodes a recipe strictly, without validating it. name is used in
// errors and as the recipe's Path.
func Parse(name string, data []byte) (*Recipe, error) {
	r := &Recipe{Path: name, origins: map[string]origin{}, Documents: []Document{document(name, data)}}
	lines, err := decodeDoc(name, "recipe", data, r)
	if err != nil {
		return nil, err
	}
	for k, l := range lines {
		r.origins[k] = origin{file: name, line: l, key: k}
	}
	return r, nil
}

// document describes the file name, read as data.
func document(name string, data []byte) Document {
	sum := sha256.Sum256(data)
	return Document{Path: name, SHA256: hex.EncodeToString(sum[:])}
}

// decodeDoc strictly decodes the one YAML document in data, a recipe or a
// fragment (what), into v and returns the line of every key path.
func decodeDoc(name, what string, data []byte, v any) (map[string]int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "empty " + what}
		}
		return nil, &Error{File: name, Msg: fmt.Sprint(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Line: extra.Line, Msg: "more than one YAML document"}
	}
	d := &decoder{file: name, lines: map[string]int{}}
	if err := d.decode(doc.Content[0], reflect.ValueOf(v).Elem(), ""); err != nil {
		return nil, err
	}
	return d.lines, nil
}
