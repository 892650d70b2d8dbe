package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// interrupted is the cause of the context jailimg's commands run under
// when SIGINT or SIGTERM ended it: the command exits 128 + the signal's
// number, as a shell reports a process the signal killed.
type interrupted struct {
	sig syscall.Signal
	err error // the command's error, context.Canceled within
}

func (e *interrupted) Error() string {
	name := "SIGINT"
	if e.sig == syscall.SIGTERM {
		name = "SIGTERM"
	}
	if e.err == nil {
		return "interrupted by " + name
	}
	return e.err.Error() + " (interrupted by " + name + ")"
}

func (e *interrupted) Unwrap() error { return e.err }

// code is the exit status: 130 for SIGINT, 143 for SIGTERM.
func (e *interrupted) code() int { return 128 + int(e.sig) }

// signalContext returns a context canceled, with an *interrupted cause,
// at the first SIGINT or SIGTERM, and the function that stops catching
// them.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			cancel(&interrupted{sig: s.(syscall.Signal)})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedBy returns err as an *interrupted when a signal canceled ctx
// and err is that cancellation, so that the exit status names the signal.
func interruptedBy(ctx context.Context, err error) error {
	var sig *interrupted
	if err == nil || !errors.Is(err, context.Canceled) || !errors.As(context.Cause(ctx), &sig) {
		return err
	}
	return &interrupted{sig: sig.sig, err: err}
}
