package iox

import (
	"fmt"
	"io"
	"sync"
)

// ErrStopped is returned by a [CountingReader]'s Read after Stop. It
// wraps io.ErrClosedPipe, as a read from a reader that was taken away.
var ErrStopped = fmt.Errorf("read after stop: %w", io.ErrClosedPipe)

// CountingReader counts the bytes read through it, and can be stopped so
// that a reader handed to code that may hold on to it (a transport that is
// late to let go of a command's input) is read no more once its owner is
// done with it. It is safe for concurrent use.
type CountingReader struct {
	mu      sync.Mutex
	r       io.Reader
	n       int64
	stopped bool
}

// NewCountingReader returns a CountingReader reading from r.
func NewCountingReader(r io.Reader) *CountingReader {
	return &CountingReader{r: r}
}

// Read reads from the underlying reader and counts the bytes it returns.
// After Stop it reads nothing and returns 0 and [ErrStopped]. Concurrent
// Reads are serialized.
func (c *CountingReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, ErrStopped
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// N returns the number of bytes read so far.
func (c *CountingReader) N() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Stop ends reading and returns the number of bytes read. It waits for a
// Read in progress to return; once it has returned, the underlying reader
// is never read again. Stop may be called more than once.
func (c *CountingReader) Stop() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	return c.n
}
