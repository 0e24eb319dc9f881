package transporttest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

func testIsolated(t *testing.T, e *env) {
	p := e.path("only-on-a.txt")
	e.put(e.a, p, []byte("a\n"), 0)
	_, err := e.get(e.b, p)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a file Put on one host must not appear on another")

	e.put(e.b, e.path("both.txt"), []byte("b\n"), 0)
	e.put(e.a, e.path("both.txt"), []byte("a\n"), 0)
	assert.Equal(t, "b\n", string(e.mustGet(e.b, e.path("both.txt"))))
	assert.Equal(t, "a\n", e.stdout(e.a, transport.Command{Args: []string{"cat", e.path("both.txt")}}))
	assert.Equal(t, "b\n", e.stdout(e.b, transport.Command{Args: []string{"cat", e.path("both.txt")}}))
}

// testConcurrent runs Run, Put and Get from many goroutines on both hosts.
func testConcurrent(t *testing.T, e *env) {
	const workers = 32
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := e.s.hosts[i%2]
			content := dataBytes(uint64(100+i), 64<<10+i)
			p := e.path(fmt.Sprintf("w%02d/file.bin", i))
			if !assert.NoError(t, e.tr.Put(e.ctx, host, p, bytes.NewReader(content), 0), "worker %d: Put", i) {
				return
			}
			var got bytes.Buffer
			if assert.NoError(t, e.tr.Get(e.ctx, host, p, &got), "worker %d: Get", i) {
				assert.True(t, bytes.Equal(content, got.Bytes()), "worker %d: Get returns what Put wrote", i)
			}
			var out bytes.Buffer
			err := e.tr.Run(e.ctx, host, &transport.Command{Args: []string{"cat"}, Stdin: bytes.NewReader(content), Stdout: &out})
			if assert.NoError(t, err, "worker %d: cat", i) {
				assert.True(t, bytes.Equal(content, out.Bytes()), "worker %d: cat echoes its input", i)
			}
			out.Reset()
			err = e.tr.Run(e.ctx, host, &transport.Command{Args: []string{"cat", "file.bin"}, Dir: e.path(fmt.Sprintf("w%02d", i)), Stdout: &out})
			if assert.NoError(t, err, "worker %d: cat file", i) {
				assert.True(t, bytes.Equal(content, out.Bytes()), "worker %d: cat file", i)
			}
			out.Reset()
			arg := fmt.Sprintf("worker %d's $arg", i)
			err = e.tr.Run(e.ctx, host, &transport.Command{Args: []string{"printf", `%s\0`, arg}, Stdout: &out})
			if assert.NoError(t, err, "worker %d: printf", i) {
				assert.Equal(t, arg+"\x00", out.String(), "worker %d: printf", i)
			}
			err = e.tr.Run(e.ctx, host, &transport.Command{Shell: ShellExit3})
			var ee *transport.ExitError
			if assert.ErrorAs(t, err, &ee, "worker %d: exit 3", i) {
				assert.Equal(t, 3, ee.Code, "worker %d: exit 3", i)
				assert.Equal(t, host, ee.Host, "worker %d: exit 3", i)
			}
		}()
	}
	wg.Wait()
}

func testUseAfterClose(t *testing.T, e *env) {
	tr := e.newTransport()
	require.NoError(t, tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}))
	require.NoError(t, tr.Put(e.ctx, e.a, e.path("f"), strings.NewReader("x"), 0))
	require.NoError(t, tr.Close(), "Close")

	assert.ErrorIs(t, tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}), transport.ErrClosed, "Run after Close")
	assert.ErrorIs(t, tr.Put(e.ctx, e.a, e.path("g"), strings.NewReader("x"), 0), transport.ErrClosed, "Put after Close")
	assert.ErrorIs(t, tr.Get(e.ctx, e.a, e.path("f"), &bytes.Buffer{}), transport.ErrClosed, "Get after Close")
	if p, ok := tr.(transport.Pinger); ok {
		assert.ErrorIs(t, p.Ping(e.ctx, e.a), transport.ErrClosed, "Ping after Close")
	}
	if r, ok := tr.(transport.Remover); ok {
		assert.ErrorIs(t, r.Remove(e.ctx, e.a, e.path("f")), transport.ErrClosed, "Remove after Close")
	}
	if c, ok := tr.(transport.Checksummer); ok {
		_, err := c.Checksum(e.ctx, e.a, []string{e.path("f")})
		assert.ErrorIs(t, err, transport.ErrClosed, "Checksum after Close")
	}
	if tree, ok := tr.(transport.Tree); ok {
		_, err := tree.ListTree(e.ctx, e.a, e.dir, false)
		assert.ErrorIs(t, err, transport.ErrClosed, "ListTree after Close")
		err = tree.ApplyTree(e.ctx, e.a, e.dir, []transport.TreeOp{{Kind: transport.OpMkdir, Path: "d", Mode: 0o755}})
		assert.ErrorIs(t, err, transport.ErrClosed, "ApplyTree after Close")
	}
	if l, ok := tr.(transport.Locator); ok {
		_, err := l.Locate(e.ctx, e.a, e.dir)
		assert.ErrorIs(t, err, transport.ErrClosed, "Locate after Close")
	}
	for _, f := range []func() error{
		func() error { return transport.Ping(e.ctx, tr, e.a) },
		func() error { return transport.Remove(e.ctx, tr, e.a, e.path("f")) },
		func() error { _, err := transport.Checksums(e.ctx, tr, e.a, []string{e.path("f")}); return err },
	} {
		assert.ErrorIs(t, f(), transport.ErrClosed, "a helper after Close")
	}
	err := tr.Close()
	assert.NoError(t, err, "a second Close returns nil")

	// Other transports from the same harness are unaffected.
	assert.Equal(t, "x", string(e.mustGet(e.a, e.path("f"))))
}

// testCloseStopsRunning closes a transport while a command runs on it.
func testCloseStopsRunning(t *testing.T, e *env) {
	tr := e.newTransport()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stdout := newSignalWriter("started")
	cmd := &transport.Command{Args: []string{"cat"}, Stdin: &stdinUntilDone{ctx, strings.NewReader("started\n")}, Stdout: stdout}
	errc := make(chan error, 1)
	go func() { errc <- tr.Run(e.ctx, e.a, cmd) }()
	select {
	case <-stdout.ready:
	case err := <-errc:
		t.Fatalf("cat returned before Close: %v", err)
	}
	within(t, "Close with a running command", func() { _ = tr.Close() })
	// Let the transport's stdin copy finish if it waits for it.
	cancel()
	within(t, "Run after Close", func() {
		err := <-errc
		require.Error(t, err, "a command stopped by Close fails")
		assert.ErrorIs(t, err, transport.ErrClosed, "R5: a command stopped by Close reports ErrClosed")
		agree(t, err, "a command stopped by Close")
	})
}

// testRemover checks the Remover when there is one, and the helper's
// fallback (rm -f) otherwise.
func testRemover(t *testing.T, e *env) {
	remove := func(host, p string) error { return transport.Remove(e.ctx, newHider(e.tr), host, p) }
	if r, ok := e.tr.(transport.Remover); ok {
		remove = func(host, p string) error { return r.Remove(e.ctx, host, p) }
	}
	p := e.path("doomed.txt")
	e.put(e.a, p, []byte("x"), 0)
	e.put(e.b, p, []byte("y"), 0)
	require.NoError(t, remove(e.a, p))
	_, err := e.get(e.a, p)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Get after Remove")
	assert.Equal(t, "y", string(e.mustGet(e.b, p)), "Remove on one host leaves the other")
	assert.NoError(t, remove(e.a, p), "Remove of a missing file is not an error")
	assert.NoError(t, remove(e.a, e.path("no/such/dir/file")), "Remove in a missing directory is not an error")
}
