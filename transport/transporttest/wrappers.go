package transporttest

import (
	"context"
	"io"
	"io/fs"
	"sync"

	"dproc/transport"
)

// Hide returns a Transport that forwards Run, Put, Get and Close to tr and
// hides every optional interface of tr: it implements none of them and has
// no Unwrap method, so the helpers of package transport fall back to doing
// the work with Run, Put and Get (R8). Tests use it to run those fallbacks
// over a real transport.
func Hide(tr transport.Transport) transport.Transport { return newHider(tr) }

// Unwrapping returns a Transport that forwards Run, Put, Get and Close to tr
// and exposes tr with Unwrap, so that the helpers of package transport find
// tr's optional interfaces through it (R8).
func Unwrapping(tr transport.Transport) transport.Transport {
	return &unwrapper{counter: counter{inner: tr}}
}

// counter forwards the four Transport methods and counts what goes through.
type counter struct {
	inner transport.Transport

	mu   sync.Mutex
	runs []string // Args[0] (or the shell line) of each Run
	gets int
	puts int
	// noSha256sum makes a Run of sha256sum exit 127 without running, as
	// on a host that has no sha256sum.
	noSha256sum bool
}

func (c *counter) Run(ctx context.Context, host string, cmd *transport.Command) error {
	name := ""
	if cmd != nil {
		name = cmd.Shell
		if len(cmd.Args) > 0 {
			name = cmd.Args[0]
		}
	}
	c.mu.Lock()
	c.runs = append(c.runs, name)
	absent := c.noSha256sum && name == "sha256sum"
	c.mu.Unlock()
	if absent {
		return &transport.OpError{Op: "run", Host: host, Err: &transport.ExitError{
			Host: host, Command: cmd.String(), Code: 127, Stderr: []byte("sh: sha256sum: command not found\n"),
		}}
	}
	return c.inner.Run(ctx, host, cmd)
}

func (c *counter) Put(ctx context.Context, host, p string, r io.Reader, mode fs.FileMode) error {
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
	return c.inner.Put(ctx, host, p, r, mode)
}

func (c *counter) Get(ctx context.Context, host, p string, w io.Writer) error {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.inner.Get(ctx, host, p, w)
}

func (c *counter) Close() error { return c.inner.Close() }

// take returns the programs run through c and the count of Gets, and
// resets the counts.
func (c *counter) take() (runs []string, gets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	runs, gets = c.runs, c.gets
	c.runs, c.gets, c.puts = nil, 0, 0
	return runs, gets
}

// hider hides the optional interfaces of the Transport it wraps.
type hider struct{ counter }

func newHider(tr transport.Transport) *hider { return &hider{counter{inner: tr}} }

// unwrapper exposes the Transport it wraps with Unwrap.
type unwrapper struct{ counter }

func (u *unwrapper) Unwrap() transport.Transport { return u.inner }
