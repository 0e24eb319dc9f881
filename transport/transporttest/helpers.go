package transporttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

// env is what one subtest works with: a fresh transport, two hosts and a
// directory of its own under each host's home.
type env struct {
	t    *testing.T
	ctx  context.Context
	s    *suite
	tr   transport.Transport
	a, b string // two distinct hosts
	dir  string // relative directory for this subtest's files
}

func (s *suite) newEnv(t *testing.T, name string) *env {
	ctx, cancel := context.WithTimeout(context.Background(), SubtestTimeout)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, s: s, a: s.hosts[0], b: s.hosts[1]}
	e.dir = "dproc-conformance/" + strings.NewReplacer("/", "-", " ", "-").Replace(name)
	e.tr = e.newTransport()
	return e
}

// newTransport makes another transport from the harness, closed when the
// subtest ends.
func (e *env) newTransport() transport.Transport {
	tr, err := e.s.h.MakeTransport(e.ctx)
	require.NoError(e.t, err, "Harness.MakeTransport")
	require.NotNil(e.t, tr, "Harness.MakeTransport returned a nil Transport")
	e.t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// path returns p inside the subtest's directory.
func (e *env) path(p string) string { return e.dir + "/" + p }

// output runs cmd on host and returns its standard output and error.
func (e *env) output(host string, cmd transport.Command) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = e.tr.Run(e.ctx, host, &cmd)
	return out.String(), errOut.String(), err
}

// stdout runs cmd on host, requires it to succeed and returns its output.
func (e *env) stdout(host string, cmd transport.Command) string {
	e.t.Helper()
	out, _, err := e.output(host, cmd)
	require.NoError(e.t, err, "running %q", cmd.String())
	return out
}

func (e *env) put(host, p string, data []byte, mode fs.FileMode) {
	e.t.Helper()
	require.NoError(e.t, e.tr.Put(e.ctx, host, p, bytes.NewReader(data), mode), "Put %q on %q", p, host)
}

func (e *env) get(host, p string) ([]byte, error) {
	var b bytes.Buffer
	err := e.tr.Get(e.ctx, host, p, &b)
	return b.Bytes(), err
}

// mustGet requires Get to succeed and returns the content.
func (e *env) mustGet(host, p string) []byte {
	e.t.Helper()
	b, err := e.get(host, p)
	require.NoError(e.t, err, "Get %q on %q", p, host)
	return b
}

// within runs f in a goroutine and reports whether it returned within
// ReturnBound, failing the test if not.
func within(t *testing.T, what string, f func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(ReturnBound):
		t.Errorf("%s did not return within %v", what, ReturnBound)
		return false
	}
}

// requireExit checks that err is an *ExitError for host with the given code,
// and returns it.
func requireExit(t *testing.T, err error, host string, cmd *transport.Command, code int) *transport.ExitError {
	t.Helper()
	require.Error(t, err, "command %q should fail", cmd.String())
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee, "error from a command that ran and failed must be an *ExitError: %v", err)
	assert.Equal(t, host, ee.Host, "ExitError.Host")
	assert.Equal(t, code, ee.Code, "ExitError.Code")
	assert.Equal(t, cmd.String(), ee.Command, "ExitError.Command must be Command.String()")
	assert.ErrorIs(t, err, transport.ErrFailed)
	assert.False(t, transport.IsLost(err), "an ExitError must not count as lost: %v", err)
	assert.LessOrEqual(t, len(ee.Stderr), transport.TailSize, "ExitError.Stderr is at most TailSize bytes")
	return ee
}

// data returns a stream of n pseudo-random bytes determined by seed.
func data(seed uint64, n int64) io.Reader {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// dataBytes returns n pseudo-random bytes determined by seed.
func dataBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(data(seed, int64(n)), b)
	return b
}

// dataSum returns the hex SHA-256 of data(seed, n).
func dataSum(seed uint64, n int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, data(seed, n))
	return hex.EncodeToString(h.Sum(nil))
}

// hashWriter hashes and counts what is written to it.
type hashWriter struct {
	h hash.Hash
	n int64
}

func newHashWriter() *hashWriter { return &hashWriter{h: sha256.New()} }

func (w *hashWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

func (w *hashWriter) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }

// signalWriter closes ready the first time a write contains marker (which
// must arrive in one write for the suite's short markers to be seen; the
// writer also scans what it has accumulated).
type signalWriter struct {
	marker string
	buf    []byte
	ready  chan struct{}
	seen   bool
}

func newSignalWriter(marker string) *signalWriter {
	return &signalWriter{marker: marker, ready: make(chan struct{})}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if !w.seen {
		w.buf = append(w.buf, p...)
		if bytes.Contains(w.buf, []byte(w.marker)) {
			w.seen = true
			close(w.ready)
		}
	}
	return len(p), nil
}

// holdReader serves first, then blocks until release is closed or ctx ends.
// After release it serves rest and then EOF; after ctx ends it returns EOF.
// reached is closed when first has been served.
type holdReader struct {
	ctx     context.Context
	first   io.Reader
	rest    io.Reader
	reached chan struct{}
	release chan struct{}
	held    bool
}

func newHoldReader(ctx context.Context, first, rest io.Reader) *holdReader {
	return &holdReader{ctx: ctx, first: first, rest: rest, reached: make(chan struct{}), release: make(chan struct{})}
}

func (r *holdReader) Read(p []byte) (int, error) {
	if n, err := r.first.Read(p); n > 0 || !errors.Is(err, io.EOF) {
		return n, err
	}
	if !r.held {
		r.held = true
		close(r.reached)
		select {
		case <-r.release:
		case <-r.ctx.Done():
			return 0, io.EOF
		}
	}
	return r.rest.Read(p)
}

// errReader serves data and then fails with err.
type errReader struct {
	r   io.Reader
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, r.err
	}
	return n, err
}
