package iox

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// ContextErr returns nil while ctx is live, and once it has ended an error
// for which errors.Is holds for ctx.Err() (context.Canceled or
// context.DeadlineExceeded) and also for context.Cause(ctx) when the
// context was ended with a cause of its own. The error's text is the
// cause's.
func ContextErr(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, err) {
		return err
	}
	return &causeError{cause: cause, err: err}
}

// causeError is a context's end that matches both its cause and its
// ctx.Err().
type causeError struct{ cause, err error }

func (e *causeError) Error() string   { return e.cause.Error() }
func (e *causeError) Unwrap() []error { return []error{e.cause, e.err} }

// ContextReader reads from an underlying reader until a context ends. It
// checks the context before each Read, so that a copy from it stops at
// the next Read after the context ends, with [ContextErr] as its error. A
// Read already blocked in the underlying reader is not interrupted by
// this alone: for a file or a connection, arm [InterruptReads] as well,
// and ContextReader reports the deadline error that interrupts the read as
// the context's error.
type ContextReader struct {
	ctx context.Context
	r   io.Reader
}

// NewContextReader returns a ContextReader reading from r until ctx ends.
func NewContextReader(ctx context.Context, r io.Reader) *ContextReader {
	return &ContextReader{ctx: ctx, r: r}
}

// Read reads from the underlying reader, or returns 0 and [ContextErr]
// once the context has ended. A read error that wraps
// os.ErrDeadlineExceeded while the context has ended is returned as the
// context's error, with the bytes read.
func (r *ContextReader) Read(p []byte) (int, error) {
	if err := ContextErr(r.ctx); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if cerr := ContextErr(r.ctx); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// ReadDeadliner is what a read deadline can interrupt: *os.File (a pipe,
// a FIFO, a terminal) and net.Conn have it.
type ReadDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// InterruptReads arranges for a Read blocked on d to return when ctx ends,
// by setting d's read deadline to the present; the Read then fails with
// an error wrapping os.ErrDeadlineExceeded, which a [ContextReader] over d
// reports as the context's error. It clears any deadline d had.
//
// The returned stop must be called once reading is over: it disarms the
// interrupt and clears the deadline, so that d is left as it was found
// even if ctx ended meanwhile. ok is false, and nothing is armed, when d
// does not support read deadlines (a regular file); stop is then a no-op.
func InterruptReads(ctx context.Context, d ReadDeadliner) (stop func(), ok bool) {
	if d.SetReadDeadline(time.Time{}) != nil {
		return func() {}, false
	}
	var mu sync.Mutex
	done := false
	disarm := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			_ = d.SetReadDeadline(time.Now())
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			disarm()
			mu.Lock()
			done = true
			mu.Unlock()
			_ = d.SetReadDeadline(time.Time{})
		})
	}, true
}
