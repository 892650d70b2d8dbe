package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Error is a failed registry operation, naming the registry and
// repository. Err is the cause: a *transport.Error for what the registry
// answered, a network error, or a digest or size mismatch.
type Error struct {
	Op  string // push or pull
	Ref name.Reference
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s (registry %s, repository %s): %s",
		e.Op, e.Ref, e.Ref.Context().RegistryStr(), e.Ref.Context().RepositoryStr(), registryMessage(e.Err))
}

// registryMessage is err's text, with a registry's error answer written as
// "CODE: message; CODE: message": go-containerregistry's own text appends
// each error's detail as a Go map ("map[Tag:nope]").
func registryMessage(err error) string {
	var te *transport.Error
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return err.Error()
	}
	msgs := make([]string, len(te.Errors))
	for i, d := range te.Errors {
		msgs[i] = fmt.Sprintf("%s: %s", d.Code, d.Message)
	}
	return fmt.Sprintf("%s (HTTP %d %s)", strings.Join(msgs, "; "), te.StatusCode, http.StatusText(te.StatusCode))
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
