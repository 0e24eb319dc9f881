package iox

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountingReaderCounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		buf   int
	}{
		{"empty", "", 4},
		{"one read", "abc", 8},
		{"many reads", strings.Repeat("x", 1000), 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCountingReader(strings.NewReader(tc.input))
			var out bytes.Buffer
			n, err := io.CopyBuffer(&out, struct{ io.Reader }{c}, make([]byte, tc.buf))
			require.NoError(t, err)
			assert.Equal(t, int64(len(tc.input)), n)
			assert.Equal(t, tc.input, out.String())
			assert.Equal(t, int64(len(tc.input)), c.N())
			assert.Equal(t, int64(len(tc.input)), c.Stop())
		})
	}
}

func TestCountingReaderStop(t *testing.T) {
	c := NewCountingReader(strings.NewReader("abcdef"))
	p := make([]byte, 2)
	n, err := c.Read(p)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, int64(2), c.Stop())
	n, err = c.Read(p)
	assert.Zero(t, n)
	assert.ErrorIs(t, err, ErrStopped)
	assert.ErrorIs(t, err, io.ErrClosedPipe)
	assert.Equal(t, int64(2), c.Stop(), "a second Stop changes nothing")
	assert.Equal(t, int64(2), c.N())
}

// guardReader fails when read after its owner was told reading stopped.
type guardReader struct {
	stopped atomic.Bool
	late    atomic.Int64
	reads   atomic.Int64
}

func (g *guardReader) Read(p []byte) (int, error) {
	g.reads.Add(1)
	if g.stopped.Load() {
		g.late.Add(1)
		return 0, errors.New("read after Stop returned")
	}
	return len(p), nil
}

// Concurrent Reads, N and Stop are safe (run with -race), and once Stop
// returned the underlying reader is never read again.
func TestCountingReaderConcurrentStop(t *testing.T) {
	g := &guardReader{}
	c := NewCountingReader(g)
	var wg sync.WaitGroup
	var total atomic.Int64
	started := make(chan struct{}, 4)
	for range 4 {
		wg.Go(func() {
			p := make([]byte, 3)
			started <- struct{}{}
			for {
				n, err := c.Read(p)
				total.Add(int64(n))
				if err != nil {
					assert.ErrorIs(t, err, ErrStopped)
					return
				}
				_ = c.N()
			}
		})
	}
	for range 4 {
		<-started
	}
	n := c.Stop()
	g.stopped.Store(true)
	wg.Wait()
	assert.Zero(t, g.late.Load(), "underlying reader read after Stop returned")
	assert.Equal(t, n, total.Load(), "Stop's count is every byte handed out")
	assert.Equal(t, n, c.N())
}
