package split_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/split"
)

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(entries)
}

// TestStreamBoundedMemory holds every chunk of an input sixteen times the
// memory budget: the chunks past the budget must go to files, memory must
// stay within the budget, and Close must remove every file.
func TestStreamBoundedMemory(t *testing.T) {
	const budget = 64 << 10
	input := lines(1 << 20)
	dir := t.TempDir()
	s := split.Stream(onlyReader{bytes.NewReader(input)}, 16<<10, &split.Options{MemoryBudget: budget, TempDir: dir})

	var chunks []split.Chunk
	maxMem := int64(0)
	require.NoError(t, s.Split(context.Background(), func(c split.Chunk) error {
		chunks = append(chunks, c)
		now, _ := s.MemoryInUse()
		maxMem = max(maxMem, now)
		return nil
	}))
	require.Greater(t, len(chunks), 16)
	_, peak := s.MemoryInUse()
	assert.LessOrEqual(t, peak, int64(budget))
	assert.LessOrEqual(t, maxMem, peak)
	assert.Greater(t, peak, int64(0), "some chunks stay in memory")
	files := countFiles(t, dir)
	assert.Greater(t, files, len(chunks)/2, "chunks past the budget are spooled to files")
	assert.Less(t, files, len(chunks), "chunks within the budget stay in memory")

	// Every chunk, in memory or on disk, reads back; together they are
	// the input.
	var all bytes.Buffer
	for _, c := range chunks {
		r, err := c.Open()
		require.NoError(t, err)
		_, err = io.Copy(&all, r)
		require.NoError(t, err)
		require.NoError(t, r.Close())
	}
	assert.Equal(t, input, all.Bytes())

	// Releasing a spooled chunk removes its file; opening it fails.
	last := chunks[len(chunks)-1]
	last.Release()
	last.Release()
	assert.Equal(t, files-1, countFiles(t, dir))
	_, err := last.Open()
	assert.ErrorIs(t, err, split.ErrReleased)

	// Releasing an in-memory chunk gives its memory back.
	before, _ := s.MemoryInUse()
	chunks[0].Release()
	after, _ := s.MemoryInUse()
	assert.Less(t, after, before)

	require.NoError(t, s.Close())
	assert.Equal(t, 0, countFiles(t, dir), "Close removes every spool file")
	now, _ := s.MemoryInUse()
	assert.Equal(t, int64(0), now)
	_, err = chunks[1].Open()
	assert.ErrorIs(t, err, split.ErrClosed)
	require.NoError(t, s.Close(), "Close is idempotent")

	err = s.Split(context.Background(), func(split.Chunk) error { return nil })
	assert.ErrorIs(t, err, split.ErrClosed)
}

// TestStreamReleaseKeepsMemory releases each chunk as it comes, as the
// dispatcher does once a chunk's output is committed: nothing spills.
func TestStreamReleaseKeepsMemory(t *testing.T) {
	const budget = 64 << 10
	input := lines(1 << 20)
	dir := t.TempDir()
	s := split.Stream(onlyReader{bytes.NewReader(input)}, 16<<10, &split.Options{MemoryBudget: budget, TempDir: dir})
	defer s.Close()
	n := 0
	require.NoError(t, s.Split(context.Background(), func(c split.Chunk) error {
		n++
		assert.Equal(t, 0, countFiles(t, dir))
		c.Release()
		return nil
	}))
	assert.Greater(t, n, 16)
	now, peak := s.MemoryInUse()
	assert.Equal(t, int64(0), now)
	assert.LessOrEqual(t, peak, int64(budget))
}

// TestStreamHeaderSpooled has a header and a budget too small for it: the
// header goes to a file too, and every chunk starts with it.
func TestStreamHeaderSpooled(t *testing.T) {
	input := []byte("col1,col2\r\n1,2\r\n3,4\r\n5,6\r\n")
	dir := t.TempDir()
	s := split.Stream(onlyReader{bytes.NewReader(input)}, 4, &split.Options{Header: true, MemoryBudget: -1, TempDir: dir})
	chunks := collect(t, s)
	assert.Equal(t, []string{"col1,col2\r\n1,2\r\n", "col1,col2\r\n3,4\r\n", "col1,col2\r\n5,6\r\n"}, chunkData(chunks))
	assert.Equal(t, []int64{11, 16, 21}, []int64{chunks[0].Offset, chunks[1].Offset, chunks[2].Offset})
	assert.Equal(t, 4, countFiles(t, dir), "three chunks and the header")
	require.NoError(t, s.Close())
	assert.Equal(t, 0, countFiles(t, dir))
}

func TestStreamSplitTwice(t *testing.T) {
	s := split.Stream(bytes.NewReader([]byte("a\n")), 1, &split.Options{TempDir: t.TempDir()})
	defer s.Close()
	require.NoError(t, s.Split(context.Background(), func(split.Chunk) error { return nil }))
	err := s.Split(context.Background(), func(split.Chunk) error { return nil })
	assert.ErrorIs(t, err, split.ErrInvalid)
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestStreamReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	dir := t.TempDir()
	s := split.Stream(&failingReader{data: []byte("a\nb\nc"), err: boom}, 1, &split.Options{MemoryBudget: -1, TempDir: dir})
	var chunks []split.Chunk
	err := s.Split(context.Background(), func(c split.Chunk) error { chunks = append(chunks, c); return nil })
	assert.ErrorIs(t, err, boom)
	assert.Len(t, chunks, 2, "chunks before the error were yielded")
	assert.Equal(t, 2, countFiles(t, dir), "the unfinished chunk's file is removed")
	require.NoError(t, s.Close())
	assert.Equal(t, 0, countFiles(t, dir))
}

func TestStreamBadTempDir(t *testing.T) {
	s := split.Stream(bytes.NewReader([]byte("a\nb\n")), 1, &split.Options{MemoryBudget: -1, TempDir: "/nonexistent/dir"})
	defer s.Close()
	err := s.Split(context.Background(), func(split.Chunk) error { return nil })
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestStreamConcurrentRelease releases chunks from other goroutines while
// Split runs, as a dispatcher does; run with -race.
func TestStreamConcurrentRelease(t *testing.T) {
	input := lines(512 << 10)
	s := split.Stream(onlyReader{bytes.NewReader(input)}, 8<<10, &split.Options{MemoryBudget: 32 << 10, TempDir: t.TempDir()})
	defer s.Close()
	var all bytes.Buffer
	results := make(chan chan []byte, 8)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for r := range results {
			all.Write(<-r)
		}
	}()
	require.NoError(t, s.Split(context.Background(), func(c split.Chunk) error {
		r := make(chan []byte, 1)
		results <- r
		go func() {
			rc, err := c.Open()
			if err != nil {
				r <- nil
				return
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			c.Release()
			r <- b
		}()
		return nil
	}))
	close(results)
	<-finished
	assert.Equal(t, input, all.Bytes())
}
