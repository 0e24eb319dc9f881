package memtransport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
	"dproc/transport/memtransport"
)

// requireLost checks that err is a lost error with cause, and no exit status.
func requireLost(t *testing.T, err error, cause error) {
	t.Helper()
	require.Error(t, err)
	assert.True(t, transport.IsLost(err), "IsLost(%v)", err)
	assert.ErrorIs(t, err, cause)
	var ee *transport.ExitError
	assert.False(t, errors.As(err, &ee), "a lost error carries no exit status")
	var oe *transport.OpError
	assert.ErrorAs(t, err, &oe)
}

func TestFailNext(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()
	custom := errors.New("session refused")
	calls := []func() error{
		func() error { return tr.Ping(ctx, "a") },
		func() error { return tr.Put(ctx, "a", "f", strings.NewReader("x"), 0) },
		func() error { return tr.Get(ctx, "a", "f", io.Discard) },
		func() error { return tr.Run(ctx, "a", &transport.Command{Args: []string{"true"}}) },
	}
	for _, tc := range []struct {
		name  string
		n     int
		err   error
		cause error
	}{
		{"default error", 2, nil, memtransport.ErrInjected},
		{"custom error", 3, custom, custom},
		{"lost error as is", 1, transport.ErrLost, transport.ErrLost},
		{"none", 0, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, h.WriteFile("f", []byte("old"), 0))
			h.FailNext(tc.n, tc.err)
			for i, call := range calls {
				err := call()
				if i < tc.n {
					requireLost(t, err, tc.cause)
					continue
				}
				require.NoError(t, err, "call %d", i)
			}
			if tc.n >= 2 {
				got, _ := h.ReadFile("f")
				assert.Equal(t, "old", string(got), "a failed Put has no effect")
			}
			require.NoError(t, tr.Ping(ctx, "b"), "other hosts are not affected")
		})
	}
	h.FailNext(5, nil)
	h.FailNext(-1, nil)
	require.NoError(t, tr.Ping(ctx, "a"), "n <= 0 cancels")
}

func TestSetDown(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()
	h.SetDown(true)
	_, _, err := run(ctx, tr, "a", args("true"))
	requireLost(t, err, memtransport.ErrDown)
	requireLost(t, transport.Ping(ctx, tr, "a"), memtransport.ErrDown)
	requireLost(t, tr.Get(ctx, "a", "f", io.Discard), memtransport.ErrDown)
	h.SetDown(false)
	require.NoError(t, tr.Ping(ctx, "a"))
	st := h.Stats()
	assert.Equal(t, int64(3), st.Failures)
	assert.Equal(t, int64(3), st.Lost)
}

func TestHang(t *testing.T) {
	t.Run("new calls block until the context ends", func(t *testing.T) {
		tr, h := newTransport(t)
		ran := false
		h.Handle("work", func(context.Context, *memtransport.Process) int { ran = true; return 0 })
		h.Hang(true)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := tr.Run(ctx, "a", &transport.Command{Args: []string{"work"}})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, ran)
		require.NoError(t, tr.Ping(t.Context(), "b"))
	})
	t.Run("thaw releases blocked calls", func(t *testing.T) {
		tr, h := newTransport(t)
		h.Hang(true)
		h.Hang(true)
		done := make(chan error)
		go func() { done <- tr.Ping(t.Context(), "a") }()
		h.Hang(false)
		h.Hang(false)
		require.NoError(t, <-done)
	})
	t.Run("running streams stop", func(t *testing.T) {
		tr, h := newTransport(t)
		wrote, release := make(chan struct{}), make(chan struct{})
		h.Handle("two", func(_ context.Context, p *memtransport.Process) int {
			_, _ = io.WriteString(p.Stdout, "first ")
			close(wrote)
			<-release
			if _, err := io.WriteString(p.Stdout, "second"); err != nil {
				return 1
			}
			return 0
		})
		ctx, cancel := context.WithCancel(t.Context())
		var out bytes.Buffer
		done := make(chan error)
		go func() { done <- tr.Run(ctx, "a", &transport.Command{Args: []string{"two"}, Stdout: &out}) }()
		<-wrote
		h.Hang(true)
		close(release)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		assert.Equal(t, "first ", out.String())
	})
}

func TestLatency(t *testing.T) {
	tr, h := newTransport(t)
	ran := false
	h.Handle("work", func(context.Context, *memtransport.Process) int { ran = true; return 0 })
	h.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tr.Run(ctx, "a", &transport.Command{Args: []string{"work"}}), context.DeadlineExceeded)
	assert.False(t, ran, "the command did not start within the latency")
	h.SetLatency(0)
	require.NoError(t, tr.Run(t.Context(), "a", &transport.Command{Args: []string{"work"}}))
	assert.True(t, ran)
}

// cancelWriter keeps what it gets and cancels a context at the first write.
type cancelWriter struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

func TestBandwidth(t *testing.T) {
	// At one byte per second, a stream moves one byte and then waits: the
	// context, cancelled at the first byte, ends the wait.
	tr, h := newTransport(t)
	require.NoError(t, h.WriteFile("f", []byte("hello"), 0))
	h.Handle("hello", func(_ context.Context, p *memtransport.Process) int {
		_, _ = io.WriteString(p.Stdout, "hello")
		return 0
	})
	h.SetBandwidth(1)

	ctx, cancel := context.WithCancel(t.Context())
	w := &cancelWriter{cancel: cancel}
	require.ErrorIs(t, tr.Get(ctx, "a", "f", w), context.Canceled)
	assert.Equal(t, "h", w.String())

	ctx, cancel = context.WithCancel(t.Context())
	w = &cancelWriter{cancel: cancel}
	require.ErrorIs(t, tr.Run(ctx, "a", &transport.Command{Args: []string{"hello"}, Stdout: w}), context.Canceled)
	assert.Equal(t, "h", w.String())

	h.SetBandwidth(0)
	var buf bytes.Buffer
	require.NoError(t, tr.Get(t.Context(), "a", "f", &buf))
	assert.Equal(t, "hello", buf.String())
}

func TestKill(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()
	require.NoError(t, h.WriteFile("keep", []byte("disk"), 0))
	funcCtxErr := make(chan error, 1)
	wrote := make(chan struct{})
	h.Handle("block", func(ctx context.Context, p *memtransport.Process) int {
		_, _ = io.WriteString(p.Stdout, "partial")
		close(wrote)
		<-ctx.Done()
		funcCtxErr <- ctx.Err()
		return 0
	})
	var out bytes.Buffer
	done := make(chan error)
	go func() { done <- tr.Run(ctx, "a", &transport.Command{Args: []string{"block"}, Stdout: &out}) }()
	require.NoError(t, h.WaitRunning(ctx, 1))
	assert.Equal(t, 1, h.Running())
	<-wrote
	h.Kill()
	requireLost(t, <-done, memtransport.ErrKilled)
	require.Error(t, <-funcCtxErr, "the Func's context is cancelled")
	assert.True(t, h.Dead())
	assert.Equal(t, "partial", out.String())

	requireLost(t, tr.Ping(ctx, "a"), memtransport.ErrKilled)
	requireLost(t, tr.Get(ctx, "a", "keep", io.Discard), memtransport.ErrKilled)
	require.NoError(t, tr.Ping(ctx, "b"))
	h.Kill()
	h.Revive()
	h.Revive()
	assert.False(t, h.Dead())
	var buf bytes.Buffer
	require.NoError(t, tr.Get(ctx, "a", "keep", &buf))
	assert.Equal(t, "disk", buf.String(), "files survive a kill")
}

func TestKillFromFunc(t *testing.T) {
	tr, h := newTransport(t)
	h.Handle("suicide", func(_ context.Context, p *memtransport.Process) int {
		p.Control().Kill()
		return 0
	})
	_, _, err := run(t.Context(), tr, "a", args("suicide"))
	requireLost(t, err, memtransport.ErrKilled)
}

func TestDieAfter(t *testing.T) {
	input := strings.Repeat("0123456789", 10)
	for _, tc := range []struct {
		name     string
		n        int64
		wantDead bool
		wantIn   int64
	}{
		{"mid-stream", 25, true, 25},
		{"at the end", 100, true, 100},
		{"after the end", 101, false, 100},
		{"disarmed", -1, false, 100},
		{"now", 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, h := newTransport(t)
			h.DieAfter(tc.n)
			out, _, err := run(t.Context(), tr, "a", transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader(input)})
			assert.Equal(t, tc.wantDead, h.Dead())
			assert.Equal(t, tc.wantIn, h.Stats().BytesIn)
			if !tc.wantDead {
				require.NoError(t, err)
				assert.Equal(t, input, out)
				return
			}
			requireLost(t, err, memtransport.ErrKilled)
			assert.True(t, strings.HasPrefix(input, out), "partial output is a prefix")
		})
	}
}

func TestDieAfterSpansCommands(t *testing.T) {
	tr, h := newTransport(t)
	h.DieAfter(15)
	out, _, err := run(t.Context(), tr, "a", transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader("0123456789")})
	require.NoError(t, err)
	assert.Equal(t, "0123456789", out)
	_, _, err = run(t.Context(), tr, "a", transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader("0123456789")})
	requireLost(t, err, memtransport.ErrKilled)
	assert.Equal(t, int64(15), h.Stats().BytesIn)
}

func TestCutAfter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int64
		output  string
		wantOut string
		cut     bool
	}{
		{"mid-stream", 5, "hello world", "hello", true},
		{"at once", 0, "hello", "", true},
		{"exactly n", 5, "hello", "hello", false},
		{"fewer", 50, "hello", "hello", false},
		{"disarmed", -1, "hello", "hello", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, h := newTransport(t)
			funcCtxErr := make(chan error, 2) // one per Run
			h.Handle("say", func(ctx context.Context, p *memtransport.Process) int {
				_, werr := io.WriteString(p.Stdout, tc.output)
				if werr != nil {
					<-ctx.Done()
				}
				funcCtxErr <- ctx.Err()
				return 0
			})
			h.CutAfter(tc.n)
			out, _, err := run(t.Context(), tr, "a", args("say"))
			assert.Equal(t, tc.wantOut, out)
			if tc.cut {
				requireLost(t, err, memtransport.ErrCut)
				require.Error(t, <-funcCtxErr, "the Func's context is cancelled")
			} else {
				require.NoError(t, err)
			}
			out, _, err = run(t.Context(), tr, "a", args("say"))
			require.NoError(t, err, "only the next Run is cut")
			assert.Equal(t, tc.output, out)
			assert.False(t, h.Dead(), "a cut does not kill the host")
		})
	}
}

func TestStats(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()
	require.NoError(t, tr.Put(ctx, "a", "f", strings.NewReader("12345"), 0))
	require.NoError(t, tr.Get(ctx, "a", "f", io.Discard))
	_, _, err := run(ctx, tr, "a", transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader("abc")})
	require.NoError(t, err)
	_, _, err = run(ctx, tr, "a", args("nope"))
	require.Error(t, err)
	h.FailNext(1, nil)
	require.Error(t, tr.Ping(ctx, "a"))
	require.NoError(t, tr.Ping(ctx, "b"))

	want := memtransport.Stats{
		Calls:    5,
		Runs:     2,
		Puts:     1,
		Gets:     1,
		BytesIn:  5 + 3,
		BytesOut: 5 + 3 + int64(len("nope: command not found\n")),
		Failures: 2,
		Lost:     1,
	}
	assert.Equal(t, want, h.Stats())
	want.Calls++
	assert.Equal(t, want, tr.Stats())
	assert.Equal(t, memtransport.Stats{Calls: 1}, tr.Host("b").Stats())
}
