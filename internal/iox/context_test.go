package iox

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errOwnerClosed = errors.New("owner closed")

func TestContextErr(t *testing.T) {
	live := context.Background()
	assert.NoError(t, ContextErr(live))

	cancelled, cancel := context.WithCancel(live)
	cancel()
	assert.Same(t, context.Canceled, ContextErr(cancelled))

	expired, cancel := context.WithTimeout(live, 0)
	defer cancel()
	<-expired.Done()
	assert.Equal(t, context.DeadlineExceeded, ContextErr(expired))

	caused, cancelCause := context.WithCancelCause(live)
	cancelCause(errOwnerClosed)
	err := ContextErr(caused)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errOwnerClosed)
	assert.Equal(t, "owner closed", err.Error())

	// A cause that already wraps ctx.Err() is returned as is.
	same, cancelSame := context.WithCancelCause(live)
	cancelSame(context.Canceled)
	assert.Same(t, context.Canceled, ContextErr(same))
}

func TestContextReaderStopsAtCancel(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := NewContextReader(ctx, strings.NewReader("abcdef"))
	p := make([]byte, 3)
	n, err := r.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(p[:n]))
	cancel(errOwnerClosed)
	n, err = r.Read(p)
	assert.Zero(t, n)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errOwnerClosed)

	// A live context passes the reader's own end through.
	r = NewContextReader(context.Background(), strings.NewReader("xy"))
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "xy", string(b))
}

// deadlineReader fails every Read with a deadline error.
type deadlineReader struct{}

func (deadlineReader) Read(p []byte) (int, error) { return 1, os.ErrDeadlineExceeded }

// A deadline error is the context's only when the context has ended.
func TestContextReaderDeadlineError(t *testing.T) {
	r := NewContextReader(context.Background(), deadlineReader{})
	n, err := r.Read(make([]byte, 4))
	assert.Equal(t, 1, n)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.NotErrorIs(t, err, context.Canceled)
}

// A Read blocked on a pipe returns the context's error when the context
// ends, and stop leaves the pipe readable, with no deadline.
func TestInterruptReadsPipe(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()

	ctx, cancel := context.WithCancel(context.Background())
	stop, ok := InterruptReads(ctx, pr)
	require.True(t, ok)
	r := NewContextReader(ctx, pr)
	got := make(chan error, 1)
	entered := make(chan struct{})
	go func() {
		close(entered)
		_, err := r.Read(make([]byte, 8))
		got <- err
	}()
	<-entered
	cancel() // whether before or during the Read, it returns
	err = <-got
	assert.ErrorIs(t, err, context.Canceled)
	stop()
	stop() // idempotent

	_, err = pw.Write([]byte("after"))
	require.NoError(t, err)
	p := make([]byte, 8)
	n, err := pr.Read(p)
	require.NoError(t, err, "stop cleared the deadline")
	assert.Equal(t, "after", string(p[:n]))
}

// Stop before the context ends leaves no deadline behind even if the
// context ends later.
func TestInterruptReadsStopFirst(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stop, ok := InterruptReads(ctx, pr)
	require.True(t, ok)
	stop()
	cancel()
	_, err = pw.Write([]byte("x"))
	require.NoError(t, err)
	n, err := pr.Read(make([]byte, 1))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestInterruptReadsRegularFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	require.NoError(t, err)
	defer f.Close()
	stop, ok := InterruptReads(context.Background(), f)
	assert.False(t, ok, "regular files have no read deadline")
	assert.NotPanics(t, stop)
}

// Cancelling while Reads go on is race-free (run with -race).
func TestContextReaderConcurrentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewContextReader(ctx, zeros{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p := make([]byte, 16)
			for {
				if _, err := r.Read(p); err != nil {
					assert.ErrorIs(t, err, context.Canceled)
					return
				}
			}
		})
	}
	cancel()
	wg.Wait()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
