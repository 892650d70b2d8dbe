package main

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/jailimg/jailimg/pkg/apt"
	"github.com/jailimg/jailimg/pkg/build"
	"github.com/jailimg/jailimg/pkg/bundle"
	"github.com/jailimg/jailimg/pkg/deb"
	"github.com/jailimg/jailimg/pkg/layout"
	"github.com/jailimg/jailimg/pkg/lock"
	"github.com/jailimg/jailimg/pkg/recipe"
	"github.com/jailimg/jailimg/pkg/registry"
	"github.com/jailimg/jailimg/pkg/resolve"
	"github.com/jailimg/jailimg/pkg/source"
	"github.com/jailimg/jailimg/pkg/sysroot"
	"github.com/jailimg/jailimg/pkg/tree"
	"github.com/spf13/cobra"
)

// Exit codes, the same for every subcommand.
const (
	exitOK       = 0
	exitFailure  = 1   // anything not listed below
	exitUsage    = 2   // bad flags or arguments
	exitInput    = 3   // bad input: recipe, ELF file, image, tree
	exitRegistry = 4   // the registry refused or could not be reached
	exitCanceled = 130 // SIGINT; SIGTERM is 143 (see interrupted)
)

const exitCodeHelp = `
Exit codes:
  0    success
  1    local failure: disk full, permission denied, a missing device or
       directory of this host, an I/O error (the message gives the errno's
       words), and any failure not listed below
  2    bad flags or arguments
  3    bad input, which the recipe or the image is responsible for: a recipe
       error, a file, binary or library the recipe names that is missing, a
       non-ELF binary, an unsafe or duplicate jail path, a SOURCE that names
       no image, an invalid, corrupt, unsafe or oversized image, a digest
       mismatch, an unsafe bundle, an image not signed by a --verify-key key,
       a lock that no longer matches its recipe or packages no version
       satisfies, a .deb that differs from its lock, a bad index signature
  4    registry error: unreachable, unauthorized, not found
  130  interrupted (SIGINT)
  143  terminated (SIGTERM)
  jailimg run exits with the service's own status, or 125 (the launcher
  failed), 126 (the command cannot be executed), 127 (command not found).
  jailimg trace exits with the traced command's status when it fails (after
  writing the fragment or diagnosis).
`

// usageError marks errors in how jailimg was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// inputError marks errors in what jailimg was given to work on.
type inputError struct{ error }

func (e inputError) Unwrap() error { return e.error }

func exitCode(err error) int {
	var (
		usage     usageError
		input     inputError
		recipeErr *recipe.Error
		missing   *resolve.MissingLibError
		regErr    *registry.Error
		lockErr   *lock.Error
		stale     *lock.StaleError
		sigErr    *apt.SignatureError
		terr      *transport.Error
		urlErr    *url.Error
		netErr    *net.OpError
		srcErr    *source.Error
		sig       *interrupted
	)
	if code, ok := runExitCode(err); ok {
		return code // the service's own status, or the launcher's 125-127
	}
	var traced tracedStatus
	if errors.As(err, &traced) {
		return int(traced)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &sig):
		return sig.code()
	case errors.Is(err, context.Canceled):
		return exitCanceled
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &input), errors.As(err, &recipeErr), errors.As(err, &missing),
		errors.Is(err, resolve.ErrNotELF), errors.Is(err, resolve.ErrNotRegular), errors.Is(err, build.ErrBadSource), errors.Is(err, bundle.ErrUnsafe), errors.Is(err, layout.ErrInvalid),
		errors.As(err, &srcErr), errors.Is(err, tree.ErrDuplicate), errors.Is(err, tree.ErrUnsafeMode),
		errors.As(err, &lockErr), errors.As(err, &stale), errors.As(err, &sigErr), errors.Is(err, apt.ErrUnsatisfiable),
		errors.Is(err, sysroot.ErrMismatch), errors.Is(err, deb.ErrInvalid):
		return exitInput
	case errors.As(err, &regErr), errors.As(err, &terr), errors.As(err, &urlErr), errors.As(err, &netErr):
		return exitRegistry // refused, or unreachable
	}
	return exitFailure
}

// args wraps a cobra argument check so a wrong count exits with exitUsage.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// plural returns noun for one thing and noun+"s" for any other count.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
