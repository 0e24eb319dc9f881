package transporttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"dproc/transport"
)

// LostHoster is implemented by a [Harness] that can name a host the
// transport accepts but cannot reach (nothing answers there, or the
// connection drops at once). When the harness has it, the rule tests check
// that such a host is reported lost; when it does not, those checks are not
// made.
type LostHoster interface {
	LostHost() string
}

// RefusedHoster is implemented by a [Harness] that can name hosts the
// transport knows but that refuse it (a host key that does not match, a
// login that fails). When the harness has it, rule R2 is checked on them:
// Ping fails, and not with a lost error.
type RefusedHoster interface {
	RefusedHosts() []string
}

// agree checks rule R3 on err: errors.Is(err, ErrLost) == IsLost(err).
func agree(t *testing.T, err error, what string) {
	t.Helper()
	assert.Equal(t, errors.Is(err, transport.ErrLost), transport.IsLost(err),
		"R3: errors.Is(err, ErrLost) and IsLost(err) must agree for %s: %v", what, err)
	var ee *transport.ExitError
	if errors.Is(err, transport.ErrLost) {
		assert.False(t, errors.As(err, &ee), "R3: a lost error must not hold an *ExitError (%s): %v", what, err)
	}
}

// requireUnknown checks rule R1 on the error of op on an unknown host.
func requireUnknown(t *testing.T, err error, op string) {
	t.Helper()
	assert.ErrorIs(t, err, transport.ErrUnknownHost, "R1: %s on an unknown host must match ErrUnknownHost", op)
	assert.NotErrorIs(t, err, transport.ErrLost, "R1: %s on an unknown host must not match ErrLost", op)
	assert.False(t, transport.IsLost(err), "R1: %s on an unknown host is not lost: %v", op, err)
	var ee *transport.ExitError
	assert.False(t, errors.As(err, &ee), "%s on an unknown host is not an ExitError: %v", op, err)
	assert.NotErrorIs(t, err, fs.ErrNotExist, "%s on an unknown host is not a missing file", op)
}

// testR1UnknownHost checks rule R1: every method, optional ones and the
// helpers' fallbacks included, fails for an unknown host with an error
// matching ErrUnknownHost and never ErrLost.
func testR1UnknownHost(t *testing.T, e *env) {
	host := e.s.h.UnknownHost()
	require.NotContains(t, e.s.hosts, host, "Harness.UnknownHost must not be one of Hosts")
	hidden := newHider(e.tr)
	within(t, "operations on an unknown host", func() {
		requireUnknown(t, e.tr.Run(e.ctx, host, &transport.Command{Args: []string{"true"}}), "Run")
		requireUnknown(t, e.tr.Put(e.ctx, host, e.path("f"), strings.NewReader("x"), 0), "Put")
		requireUnknown(t, e.tr.Get(e.ctx, host, e.path("f"), &bytes.Buffer{}), "Get")
		if p, ok := e.tr.(transport.Pinger); ok {
			requireUnknown(t, p.Ping(e.ctx, host), "Ping")
		}
		if r, ok := e.tr.(transport.Remover); ok {
			requireUnknown(t, r.Remove(e.ctx, host, e.path("f")), "Remove")
		}
		if c, ok := e.tr.(transport.Checksummer); ok {
			_, err := c.Checksum(e.ctx, host, []string{e.path("f")})
			requireUnknown(t, err, "Checksum")
		}
		if tr, ok := e.tr.(transport.Tree); ok {
			_, err := tr.ListTree(e.ctx, host, e.dir, false)
			requireUnknown(t, err, "ListTree")
			requireUnknown(t, tr.ApplyTree(e.ctx, host, e.dir, []transport.TreeOp{{Kind: transport.OpMkdir, Path: "d", Mode: 0o755}}), "ApplyTree")
		}
		if l, ok := e.tr.(transport.Locator); ok {
			_, err := l.Locate(e.ctx, host, e.dir)
			requireUnknown(t, err, "Locate")
		}
		for name, tr := range map[string]transport.Transport{"": e.tr, " (fallback)": hidden} {
			requireUnknown(t, transport.Ping(e.ctx, tr, host), "transport.Ping"+name)
			requireUnknown(t, transport.Remove(e.ctx, tr, host, e.path("f")), "transport.Remove"+name)
			_, err := transport.Checksums(e.ctx, tr, host, []string{e.path("f")})
			requireUnknown(t, err, "transport.Checksums"+name)
		}
	})
	assert.NoError(t, e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}), "known hosts still work")
}

// testR2Pinger checks rule R2: what Ping returns for a host that answers, an
// unknown host, a closed transport, a cancelled context and (when the
// harness names one) a lost host, through the Pinger and through the
// fallback of transport.Ping.
func testR2Pinger(t *testing.T, e *env) {
	pingers := map[string]func(ctx context.Context, tr transport.Transport, host string) error{
		"transport.Ping": transport.Ping,
		"transport.Ping fallback": func(ctx context.Context, tr transport.Transport, host string) error {
			return transport.Ping(ctx, newHider(tr), host)
		},
	}
	if _, ok := e.tr.(transport.Pinger); ok {
		pingers["Pinger.Ping"] = func(ctx context.Context, tr transport.Transport, host string) error {
			return tr.(transport.Pinger).Ping(ctx, host)
		}
	}
	noExit := func(t *testing.T, err error, what string) {
		t.Helper()
		var ee *transport.ExitError
		assert.False(t, errors.As(err, &ee), "R2: Ping never returns an *ExitError (%s): %v", what, err)
		agree(t, err, what)
	}
	for name, ping := range pingers {
		t.Run(name, func(t *testing.T) {
			for _, host := range e.s.hosts {
				assert.NoError(t, ping(e.ctx, e.tr, host), "R2: Ping of a host that answers (%q)", host)
			}

			err := ping(e.ctx, e.tr, e.s.h.UnknownHost())
			require.Error(t, err, "Ping of an unknown host")
			assert.ErrorIs(t, err, transport.ErrUnknownHost, "R2: an unknown host is a refusal")
			assert.NotErrorIs(t, err, transport.ErrLost, "R2: an unknown host is not lost")
			noExit(t, err, "an unknown host")

			if lh, ok := e.s.h.(LostHoster); ok {
				err := ping(e.ctx, e.tr, lh.LostHost())
				assert.ErrorIs(t, err, transport.ErrLost, "R2: a host that cannot be reached is lost")
				assert.True(t, transport.IsLost(err), "R2: a host that cannot be reached is lost: %v", err)
				noExit(t, err, "a lost host")
			}

			if rh, ok := e.s.h.(RefusedHoster); ok {
				for _, host := range rh.RefusedHosts() {
					err := ping(e.ctx, e.tr, host)
					require.Error(t, err, "R2: Ping of a host that refuses (%q)", host)
					assert.NotErrorIs(t, err, transport.ErrLost, "R2: a refusal is not a lost host (%q)", host)
					assert.False(t, transport.IsLost(err), "R2: a refusal is not lost (%q): %v", host, err)
					noExit(t, err, "a refusing host")
				}
			}

			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			err = ping(ctx, e.tr, e.a)
			assert.ErrorIs(t, err, context.Canceled, "Ping with a cancelled context")
			assert.NotErrorIs(t, err, transport.ErrLost, "R2: the caller's cancellation is not a lost host")
			noExit(t, err, "a cancelled context")

			closed := e.newTransport()
			require.NoError(t, closed.Close())
			err = ping(e.ctx, closed, e.a)
			assert.ErrorIs(t, err, transport.ErrClosed, "R2: Ping after Close")
			assert.NotErrorIs(t, err, transport.ErrLost, "R2: a closed transport is a refusal, not a lost host")
			noExit(t, err, "a closed transport")
		})
	}
}

// testR3LostOrFailed checks rule R3 on errors of every kind the suite can
// provoke: a failed command, a missing program, a missing file, an unknown
// host, an invalid command, a cancelled context, a closed transport and a
// lost host when the harness names one.
func testR3LostOrFailed(t *testing.T, e *env) {
	unknown := e.s.h.UnknownHost()
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	closed := e.newTransport()
	require.NoError(t, closed.Close())
	errs := map[string]error{
		"exit 3":            e.tr.Run(e.ctx, e.a, &transport.Command{Shell: ShellExit3}),
		"missing program":   e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{MissingProgram}}),
		"missing file":      e.tr.Get(e.ctx, e.a, e.path("missing"), io.Discard),
		"unknown host Run":  e.tr.Run(e.ctx, unknown, &transport.Command{Args: []string{"true"}}),
		"unknown host Put":  e.tr.Put(e.ctx, unknown, e.path("f"), strings.NewReader("x"), 0),
		"unknown host Get":  e.tr.Get(e.ctx, unknown, e.path("f"), io.Discard),
		"invalid command":   e.tr.Run(e.ctx, e.a, &transport.Command{}),
		"cancelled Run":     e.tr.Run(cancelled, e.a, &transport.Command{Args: []string{"true"}}),
		"cancelled Get":     e.tr.Get(cancelled, e.a, e.path("f"), io.Discard),
		"closed Run":        closed.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}),
		"closed Put":        closed.Put(e.ctx, e.a, e.path("f"), strings.NewReader("x"), 0),
		"ping unknown host": transport.Ping(e.ctx, e.tr, unknown),
	}
	_, errs["checksum of a missing file"] = transport.Checksums(e.ctx, e.tr, e.a, []string{e.path("missing")})
	if lh, ok := e.s.h.(LostHoster); ok {
		lost := lh.LostHost()
		errs["lost host Run"] = e.tr.Run(e.ctx, lost, &transport.Command{Args: []string{"true"}})
		errs["lost host Put"] = e.tr.Put(e.ctx, lost, e.path("f"), strings.NewReader("x"), 0)
		errs["lost host Get"] = e.tr.Get(e.ctx, lost, e.path("f"), io.Discard)
		errs["lost host Ping"] = transport.Ping(e.ctx, e.tr, lost)
		for what, err := range errs {
			if strings.HasPrefix(what, "lost host") {
				assert.True(t, transport.IsLost(err), "%s is lost: %v", what, err)
			}
		}
	}
	for what, err := range errs {
		require.Error(t, err, what)
		agree(t, err, what)
	}
	assert.False(t, transport.IsLost(errs["exit 3"]), "a command that ran and failed is not lost")
	assert.False(t, transport.IsLost(errs["missing program"]), "a missing program is not lost")
}

// stdinWatch is an endless standard input that records any Read running
// once returned is set: a Read that starts after Run returned, or one still
// in progress when it returned.
type stdinWatch struct {
	returned atomic.Bool
	late     atomic.Int32
	reads    atomic.Int64
}

func (r *stdinWatch) Read(p []byte) (int, error) {
	if r.returned.Load() {
		r.late.Add(1)
	}
	r.reads.Add(1)
	n := copy(p, bytes.Repeat([]byte("y\n"), 16<<10))
	time.Sleep(50 * time.Microsecond) // widen the window in which a late Read is seen
	if r.returned.Load() {
		r.late.Add(1)
	}
	return n, nil
}

// testR4Stdin checks rule R4: when the command exits by itself, Run has
// finished with an endless cmd.Stdin before it returns, whether the command
// read none of it, some of it, or exited non-zero.
func testR4Stdin(t *testing.T, e *env) {
	for _, tc := range []struct {
		name string
		cmd  transport.Command
		code int
	}{
		{"true", transport.Command{Args: []string{"true"}}, 0},
		{"exit 3", transport.Command{Shell: ShellExit3}, 3},
		{"head -c 10", transport.Command{Args: []string{"head", "-c", "10"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &stdinWatch{}
			cmd := tc.cmd
			cmd.Stdin = in
			var err error
			within(t, tc.name+" with an endless stdin", func() {
				err = e.tr.Run(e.ctx, e.a, &cmd)
				in.returned.Store(true)
			})
			if tc.code == 0 {
				require.NoError(t, err)
			} else {
				requireExit(t, err, e.a, &cmd, tc.code)
			}
			// A copier that outlived Run would go on reading: give it
			// the time to show.
			time.Sleep(100 * time.Millisecond)
			assert.Zero(t, in.late.Load(), "R4: no Read of cmd.Stdin may run after Run returned (%d reads in all)", in.reads.Load())
		})
	}
}

// testR12Unread checks rule R12: with Command.Unread set, Run reports how
// much of a finite Stdin the command did not read, counted at the command
// (a pipe's or a connection's buffering counts as unread), whatever the
// command's exit status, and standard error reaches the caller intact.
func testR12Unread(t *testing.T, e *env) {
	const size = 100 << 10
	input := bytes.Repeat([]byte("0123456789abcdef\n"), size/17+1)[:size]
	for _, tc := range []unreadCase{
		{"cat", transport.Command{Args: []string{"cat"}}, false, 0, 0, 0, nil},
		{"cat >&2", transport.Command{Shell: ShellCatToStderr}, false, 0, 0, 0, input},
		{"cat; echo done >&2", transport.Command{Shell: ShellCatThenDone}, false, 0, 0, 0, []byte("done\n")},
		{"head -c 10", transport.Command{Args: []string{"head", "-c", "10"}}, false, 0, size - 10, size - 32<<10, nil},
		{"true", transport.Command{Args: []string{"true"}}, false, 0, size, 0, nil},
		{"exit 3", transport.Command{Shell: ShellExit3}, false, 3, size, 0, nil},
		{"true without stdin", transport.Command{Args: []string{"true"}}, true, 0, 0, 0, nil},
	} {
		for _, sized := range []bool{false, true} {
			name := tc.name
			if sized {
				// The same with Command.InputSize, which a transport may
				// use to carry commands over one session: nothing may
				// differ.
				name += " with InputSize"
			}
			t.Run(name, func(t *testing.T) {
				cmd := tc.cmd
				if !tc.nilIn {
					cmd.Stdin = bytes.NewReader(input)
					if sized {
						cmd.InputSize = int64(len(input))
					}
				}
				testUnreadCase(t, e, tc, &cmd)
			})
		}
	}
}

// unreadCase is one case of testR12Unread.
type unreadCase struct {
	name      string
	cmd       transport.Command
	nilIn     bool
	code      int
	unread    int64 // exact, or at most when minUnread is set
	minUnread int64 // the least a command that reads in blocks may leave
	stderr    []byte
}

// testUnreadCase runs cmd, tc's command with its input, as testR12Unread
// expects.
func testUnreadCase(t *testing.T, e *env, tc unreadCase, cmd *transport.Command) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	unread := int64(-2)
	cmd.Unread = &unread
	var err error
	within(t, tc.name, func() { err = e.tr.Run(e.ctx, e.a, cmd) })
	if tc.code == 0 {
		require.NoError(t, err)
	} else {
		ee := requireExit(t, err, e.a, cmd, tc.code)
		assert.NotContains(t, string(ee.Stderr), "dproc", "R12: the exit error's stderr tail shows only the command's")
	}
	if tc.minUnread > 0 {
		assert.GreaterOrEqual(t, unread, tc.minUnread, "R12: bytes of stdin %q left unread (what a pipe or connection holds counts)", tc.name)
		assert.LessOrEqual(t, unread, tc.unread, "R12: bytes of stdin %q left unread", tc.name)
	} else {
		assert.Equal(t, tc.unread, unread, "R12: bytes of stdin %q left unread", tc.name)
	}
	if tc.stderr != nil {
		assert.True(t, bytes.Equal(tc.stderr, stderr.Bytes()), "R12: standard error of %q is the command's, byte for byte (got %d bytes, want %d)", tc.name, stderr.Len(), len(tc.stderr))
	} else {
		assert.Empty(t, stderr.String(), "R12: standard error of %q", tc.name)
	}
}

// testR5Close checks rule R5: Close waits for the calls in flight, every
// method fails with ErrClosed afterwards, and Close may be called again.
func testR5Close(t *testing.T, e *env) {
	t.Run("UseAfterClose", func(t *testing.T) { testUseAfterClose(t, e) })
	t.Run("StopsRunning", func(t *testing.T) { testCloseStopsRunning(t, e) })
	t.Run("WaitsForCalls", func(t *testing.T) { testCloseWaits(t, e) })
	t.Run("Idempotent", func(t *testing.T) {
		tr := e.newTransport()
		require.NoError(t, tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}))
		assert.NoError(t, tr.Close(), "first Close")
		assert.NoError(t, tr.Close(), "second Close")
		assert.NoError(t, tr.Close(), "third Close")
		assert.ErrorIs(t, tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}), transport.ErrClosed)
	})
}

// holdWriter blocks the first Write that holds marker until release is
// closed or hold has passed, and records that the Write ended.
type holdWriter struct {
	marker  string
	hold    time.Duration
	ready   chan struct{}
	release chan struct{}
	ended   atomic.Bool
	seen    bool
	buf     []byte
}

func (w *holdWriter) Write(p []byte) (int, error) {
	if !w.seen {
		w.buf = append(w.buf, p...)
		if bytes.Contains(w.buf, []byte(w.marker)) {
			w.seen = true
			close(w.ready)
			select {
			case <-w.release:
			case <-time.After(w.hold):
			}
			w.ended.Store(true)
		}
	}
	return len(p), nil
}

// testCloseWaits closes a transport while its Run is inside a Write of the
// command's output. Run may not return before that Write ends, and Close
// may not return before Run: so when Close returns, the Write has ended.
// The Write ends when Close has returned or after a while, whichever is
// first, so a Close that does not wait is caught and one that does wait is
// only delayed.
func testCloseWaits(t *testing.T, e *env) {
	tr := e.newTransport()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	w := &holdWriter{marker: "started", hold: time.Second, ready: make(chan struct{}), release: make(chan struct{})}
	cmd := &transport.Command{Args: []string{"cat"}, Stdin: &stdinUntilDone{ctx, strings.NewReader("started\n")}, Stdout: w}
	errc := make(chan error, 1)
	go func() { errc <- tr.Run(e.ctx, e.a, cmd) }()
	select {
	case <-w.ready:
	case err := <-errc:
		t.Fatalf("cat returned before Close: %v", err)
	}
	within(t, "Close with a call writing output", func() { _ = tr.Close() })
	ended := w.ended.Load()
	close(w.release)
	assert.True(t, ended, "R5: Close returned while a Run it stopped was still writing its output")
	cancel()
	within(t, "Run after Close", func() {
		err := <-errc
		assert.ErrorIs(t, err, transport.ErrClosed, "R5: a call stopped by Close fails with ErrClosed")
		agree(t, err, "a call stopped by Close")
	})
}

// testR6Checksums checks rule R6: transport.Checksums gives the same digests
// through the transport's Checksummer (when it has one), through sha256sum
// on the host, and through Get when the host has no sha256sum, and reports a
// missing file with an error matching fs.ErrNotExist in each case.
func testR6Checksums(t *testing.T, e *env) {
	a, b := []byte("first\n"), dataBytes(50, 1<<20)
	e.put(e.a, e.path("a"), a, 0)
	e.put(e.a, e.path("b"), b, 0)
	e.put(e.a, e.path("empty"), nil, 0)
	names := []string{"with space", "back\\slash", "new\nline", "-dash", "~tilde"}
	for _, n := range names {
		e.put(e.a, e.path(n), []byte(n), 0)
	}
	sum := func(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:]) }

	noSha := newHider(e.tr)
	noSha.noSha256sum = true
	for _, tc := range []struct {
		name  string
		tr    transport.Transport
		check func(t *testing.T, runs []string, gets int)
	}{
		{"Capability", e.tr, nil},
		{"Sha256sum", newHider(e.tr), func(t *testing.T, runs []string, gets int) {
			assert.Equal(t, []string{"sha256sum"}, runs, "R6: without a Checksummer, sha256sum runs on the host, once")
		}},
		{"Get", noSha, func(t *testing.T, runs []string, gets int) {
			assert.Equal(t, []string{"sha256sum"}, runs, "R6: sha256sum is tried first")
			assert.Positive(t, gets, "R6: without sha256sum the files are fetched with Get")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *counter
			if w, ok := tc.tr.(*hider); ok {
				c = &w.counter
			}
			got, err := transport.Checksums(e.ctx, tc.tr, e.a, []string{e.path("a"), e.path("missing"), e.path("b"), e.path("empty")})
			assert.ErrorIs(t, err, fs.ErrNotExist, "R6: a missing file is an error matching fs.ErrNotExist")
			agree(t, err, "a missing file")
			assert.False(t, transport.IsLost(err), "a missing file is not a lost host")
			assert.Equal(t, []string{sum(a), "", sum(b), sum(nil)}, got)
			if c != nil {
				runs, gets := c.take()
				tc.check(t, runs, gets)
			}

			paths := []string{e.path("a"), e.path("b")}
			want := []string{sum(a), sum(b)}
			for _, n := range names {
				paths = append(paths, e.path(n))
				want = append(want, sum([]byte(n)))
			}
			got, err = transport.Checksums(e.ctx, tc.tr, e.a, paths)
			require.NoError(t, err, "all files present")
			assert.Equal(t, want, got)

			_, err = transport.Checksums(e.ctx, tc.tr, e.a, []string{e.path("no/such/dir/file")})
			assert.ErrorIs(t, err, fs.ErrNotExist, "R6: a file in a missing directory")

			got, err = transport.Checksums(e.ctx, tc.tr, e.a, nil)
			require.NoError(t, err, "no paths")
			assert.Empty(t, got)
		})
	}
}

// testR7Tree runs the Tree checks of [RunTreeTests] on the transport's own
// Tree, when it has one.
func testR7Tree(t *testing.T, e *env) {
	if _, ok := transport.Capability[transport.Tree](e.tr); !ok {
		t.Log("the transport does not implement transport.Tree; RunTreeTests checks a fallback")
		return
	}
	runTreeChecks(t, e, func(tr transport.Transport) transport.Tree {
		tree, _ := transport.Capability[transport.Tree](tr)
		return tree
	})
}

// testR8Wrappers checks rule R8: a wrapper with Unwrap keeps the optional
// interfaces of the transport it wraps for the helpers, and one without
// hides them and the helpers fall back to Run and Get through it.
func testR8Wrappers(t *testing.T, e *env) {
	e.put(e.a, e.path("a"), []byte("abc"), 0)
	want := sha256.Sum256([]byte("abc"))
	_, isPinger := e.tr.(transport.Pinger)
	_, isRemover := e.tr.(transport.Remover)
	_, isChecksummer := e.tr.(transport.Checksummer)
	_, isTree := e.tr.(transport.Tree)
	_, isLocator := e.tr.(transport.Locator)

	t.Run("Unwrap", func(t *testing.T) {
		u := &unwrapper{counter{inner: e.tr}}
		double := &unwrapper{counter{inner: u}}
		for name, w := range map[string]transport.Transport{"one wrapper": u, "two wrappers": double} {
			_, ok := transport.Capability[transport.Pinger](w)
			assert.Equal(t, isPinger, ok, "%s: Pinger found through Unwrap", name)
			_, ok = transport.Capability[transport.Remover](w)
			assert.Equal(t, isRemover, ok, "%s: Remover found through Unwrap", name)
			_, ok = transport.Capability[transport.Checksummer](w)
			assert.Equal(t, isChecksummer, ok, "%s: Checksummer found through Unwrap", name)
			_, ok = transport.Capability[transport.Tree](w)
			assert.Equal(t, isTree, ok, "%s: Tree found through Unwrap", name)
			_, ok = transport.Capability[transport.Locator](w)
			assert.Equal(t, isLocator, ok, "%s: Locator found through Unwrap", name)

			sums, err := transport.Checksums(e.ctx, w, e.a, []string{e.path("a")})
			require.NoError(t, err)
			assert.Equal(t, []string{hex.EncodeToString(want[:])}, sums)
			runs, _ := u.take()
			if isChecksummer {
				assert.Empty(t, runs, "%s: the wrapped Checksummer is used, no command runs", name)
			} else {
				assert.Equal(t, []string{"sha256sum"}, runs, "%s: the fallback runs through the wrapper", name)
			}
			assert.NoError(t, transport.Ping(e.ctx, w, e.a), "%s: Ping", name)
			runs, _ = u.take()
			if isPinger {
				assert.Empty(t, runs, "%s: the wrapped Pinger is used, no command runs", name)
			} else {
				assert.Equal(t, []string{"true"}, runs, "%s: Ping falls back to true through the wrapper", name)
			}
		}
	})
	t.Run("Hide", func(t *testing.T) {
		h := newHider(e.tr)
		_, ok := transport.Capability[transport.Pinger](h)
		assert.False(t, ok, "a wrapper without Unwrap hides the Pinger")
		_, ok = transport.Capability[transport.Checksummer](h)
		assert.False(t, ok, "a wrapper without Unwrap hides the Checksummer")
		_, ok = transport.Capability[transport.Tree](h)
		assert.False(t, ok, "a wrapper without Unwrap hides the Tree")

		sums, err := transport.Checksums(e.ctx, h, e.a, []string{e.path("a")})
		require.NoError(t, err)
		assert.Equal(t, []string{hex.EncodeToString(want[:])}, sums, "the fallback gives the same digest")
		assert.NoError(t, transport.Ping(e.ctx, h, e.a))
		runs, _ := h.take()
		assert.Equal(t, []string{"sha256sum", "true"}, runs, "the helpers fall back to commands run through the wrapper")

		p := e.path("doomed")
		e.put(e.a, p, []byte("x"), 0)
		require.NoError(t, transport.Remove(e.ctx, h, e.a, p))
		runs, _ = h.take()
		assert.Equal(t, []string{"rm"}, runs, "Remove falls back to rm through the wrapper")
		_, err = e.get(e.a, p)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Get after Remove")
		assert.NoError(t, transport.Remove(e.ctx, h, e.a, p), "Remove of a missing file is not an error")
	})
}

// testR9ExitStatus checks rule R9: the shape of the error for a command that
// ran and exited non-zero.
func testR9ExitStatus(t *testing.T, e *env) {
	for _, tc := range []struct {
		name string
		cmd  transport.Command
		code int
	}{
		{"false", transport.Command{Args: []string{"false"}}, 1},
		{"exit 3", transport.Command{Shell: ShellExit3}, 3},
		{"exit 5 with stderr", transport.Command{Shell: ShellOopsExit5}, 5},
		{"missing program", transport.Command{Args: []string{MissingProgram}}, 127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, host := range []string{e.a, e.b} {
				cmd := tc.cmd
				err := e.tr.Run(e.ctx, host, &cmd)
				ee := requireExit(t, err, host, &cmd, tc.code)
				assert.Empty(t, ee.Signal, "ExitError.Signal of a command that exited")
				var oe *transport.OpError
				if assert.ErrorAs(t, err, &oe, "R9: the ExitError is wrapped in an *OpError") {
					assert.Equal(t, "run", oe.Op, "OpError.Op")
					assert.Equal(t, host, oe.Host, "OpError.Host")
					assert.Same(t, ee, oe.Err, "R9: the OpError wraps the ExitError directly")
				}
				assert.Equal(t, ee.Error(), err.Error(), "R9: the message is the ExitError's")
				assert.Equal(t, 1, strings.Count(err.Error(), strconv.Quote(host)), "R9: the message names the host once: %q", err.Error())
				agree(t, err, tc.name)
			}
		})
	}
}

// testR10Paths checks rule R10: "~" and "~/x" name the home and its entry x
// in Put, Get, Command.Dir and the optional methods; "~user" is invalid.
func testR10Paths(t *testing.T, e *env) {
	home := strings.TrimSuffix(e.stdout(e.a, transport.Command{Args: []string{"pwd"}}), "\n")
	tilde := "~/" + e.path("t.txt")
	e.put(e.a, tilde, []byte("tilde\n"), 0)
	assert.Equal(t, "tilde\n", string(e.mustGet(e.a, e.path("t.txt"))), "Put of ~/x writes the home's x")
	assert.Equal(t, "tilde\n", string(e.mustGet(e.a, tilde)), "Get of ~/x reads the home's x")
	assert.Equal(t, "tilde\n", string(e.mustGet(e.a, home+"/"+e.path("t.txt"))), "the home's x by its absolute path")
	e.put(e.a, e.path("~"), []byte("named tilde\n"), 0)
	assert.Equal(t, "named tilde\n", string(e.mustGet(e.a, "~/"+e.path("~"))), "a \"~\" inside a path is a name")

	for _, tc := range []struct{ dir, want string }{
		{"~", home},
		{"~/", home},
		{"~/" + e.dir, home + "/" + e.dir},
	} {
		out := e.stdout(e.a, transport.Command{Args: []string{"pwd"}, Dir: tc.dir})
		assert.Equal(t, tc.want+"\n", out, "pwd in Dir %q", tc.dir)
	}
	assert.Equal(t, "tilde\n", e.stdout(e.a, transport.Command{Args: []string{"cat", "t.txt"}, Dir: "~/" + e.dir}))

	if c, ok := e.tr.(transport.Checksummer); ok {
		sums, err := c.Checksum(e.ctx, e.a, []string{tilde})
		require.NoError(t, err, "Checksum of ~/x")
		want := sha256.Sum256([]byte("tilde\n"))
		assert.Equal(t, []string{hex.EncodeToString(want[:])}, sums, "Checksum of ~/x")
	}
	if r, ok := e.tr.(transport.Remover); ok {
		p := e.path("r.txt")
		e.put(e.a, p, []byte("x"), 0)
		require.NoError(t, r.Remove(e.ctx, e.a, "~/"+p), "Remove of ~/x")
		_, err := e.get(e.a, p)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Remove of ~/x removes the home's x")
	}

	invalid := func(err error, what string) {
		t.Helper()
		assert.ErrorIs(t, err, transport.ErrInvalid, "R10: %s of ~user is invalid", what)
		assert.False(t, transport.IsLost(err), "an invalid path is not lost: %v", err)
		var ee *transport.ExitError
		assert.False(t, errors.As(err, &ee), "an invalid path is not an ExitError: %v", err)
	}
	const other = "~dproc-nobody/x"
	invalid(e.tr.Put(e.ctx, e.a, other, strings.NewReader("x"), 0), "Put")
	invalid(e.tr.Get(e.ctx, e.a, other, io.Discard), "Get")
	invalid(e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}, Dir: "~dproc-nobody"}), "Command.Dir")
	if c, ok := e.tr.(transport.Checksummer); ok {
		_, err := c.Checksum(e.ctx, e.a, []string{other})
		invalid(err, "Checksum")
	}
	if r, ok := e.tr.(transport.Remover); ok {
		invalid(r.Remove(e.ctx, e.a, other), "Remove")
	}
	_, err := transport.Checksums(e.ctx, newHider(e.tr), e.a, []string{other})
	invalid(err, "transport.Checksums")
	invalid(transport.Remove(e.ctx, newHider(e.tr), e.a, other), "transport.Remove")
}

// testR11Leaks checks rule R11: once its calls have returned and it is
// closed, a transport leaves no goroutine behind.
func testR11Leaks(t *testing.T, e *env) {
	before := goleak.IgnoreCurrent()
	tr, err := e.s.h.MakeTransport(e.ctx)
	require.NoError(t, err)
	var out bytes.Buffer
	assert.NoError(t, tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"cat"}, Stdin: data(60, 1<<20), Stdout: &out}))
	assert.Error(t, tr.Run(e.ctx, e.b, &transport.Command{Shell: ShellOopsExit5}))
	assert.NoError(t, tr.Put(e.ctx, e.a, e.path("f"), data(61, 1<<20), 0))
	assert.NoError(t, tr.Get(e.ctx, e.a, e.path("f"), io.Discard))
	assert.Error(t, tr.Get(e.ctx, e.a, e.path("missing"), io.Discard))
	assert.Error(t, tr.Run(e.ctx, e.s.h.UnknownHost(), &transport.Command{Args: []string{"true"}}))
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	assert.Error(t, tr.Run(ctx, e.a, &transport.Command{Args: []string{"sleep", "30"}}))
	cancel()
	_ = transport.Ping(e.ctx, tr, e.a)
	_, _ = transport.Checksums(e.ctx, tr, e.a, []string{e.path("f")})
	require.NoError(t, tr.Close())
	assert.NoError(t, goleak.Find(before), "R11: goroutines left behind by a closed transport")
}
