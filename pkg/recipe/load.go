package recipe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest recipe file Load reads.
const MaxSize = 1 << 20

// Load reads, decodes and validates the recipe at path.
func Load(path string) (*Recipe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading recipe %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	r, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return r, r.Validate()
}

// Parse decodes a recipe strictly, without validating it. name is used in
// errors and as the recipe's Path.
func Parse(name string, data []byte) (*Recipe, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "empty recipe"}
		}
		return nil, &Error{File: name, Msg: fmt.Sprint(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Line: extra.Line, Msg: "more than one YAML document"}
	}
	r := &Recipe{Path: name}
	d := &decoder{file: name, lines: map[string]int{}}
	if err := d.decode(doc.Content[0], reflect.ValueOf(r).Elem(), ""); err != nil {
		return nil, err
	}
	r.lines = d.lines
	return r, nil
}
