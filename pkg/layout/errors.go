package layout

import (
	"errors"
	"fmt"
	"io/fs"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrInvalid is matched by the errors of a malformed or tampered OCI
// layout (unreadable JSON, a blob that does not match its descriptor, a
// missing or non-regular blob) and by every *DocumentError, from a layout
// or a registry: an image jailimg refuses to read.
var ErrInvalid = errors.New("invalid OCI image")

// Error is a problem with one file of an OCI layout. It matches
// ErrInvalid as well as its cause.
type Error struct {
	Dir  string // the layout directory
	File string // the file inside it: index.json, blobs/sha256/HEX
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("OCI layout %s: %s: %v", e.Dir, e.File, e.Err)
}

// Unwrap returns the cause and ErrInvalid.
func (e *Error) Unwrap() []error { return []error{e.Err, ErrInvalid} }

func invalid(dir, file string, err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		err = pe.Err // the path is already in the message
	}
	return &Error{Dir: dir, File: file, Err: err}
}

// DocumentError is an image index or manifest jailimg refuses to read: one
// that is both an index and a manifest, whose mediaType says other than its
// descriptor, whose config is not an image config, or with a layer jailimg
// cannot unpack. It matches ErrInvalid; a layout's is inside an *Error
// naming the layout and blob, a registry's inside a *registry.Error naming
// the reference.
type DocumentError struct {
	Kind   string  // "manifest" or "index"
	Digest v1.Hash // the document's digest; zero in a layout's, whose *Error names the file
	Err    error   // what is wrong
}

func (e *DocumentError) Error() string {
	if e.Digest == (v1.Hash{}) {
		return fmt.Sprintf("%s: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Kind, e.Digest, e.Err)
}

// Unwrap returns the cause and ErrInvalid.
func (e *DocumentError) Unwrap() []error { return []error{e.Err, ErrInvalid} }
