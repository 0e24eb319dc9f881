package split_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/split"
)

// piece is a chunk's place and bytes, read twice to show that a retry
// reads the same bytes again.
type piece struct {
	Index        int
	Offset, Size int64
	Data         string
}

func splitAll(t *testing.T, s split.Splitter) []piece {
	t.Helper()
	var out []piece
	err := s.Split(context.Background(), func(c split.Chunk) error {
		var reads [2][]byte
		for i := range reads {
			r, err := c.Open()
			if err != nil {
				return err
			}
			reads[i], err = io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
		}
		if !bytes.Equal(reads[0], reads[1]) {
			t.Errorf("chunk %d read twice gave different bytes", c.Index)
		}
		assert.Equal(t, c.Size, int64(len(reads[0])), "chunk %d size", c.Index)
		out = append(out, piece{c.Index, c.Offset, c.Size, string(reads[0])})
		return nil
	})
	require.NoError(t, err)
	return out
}

func concat(ps []piece) string {
	var b bytes.Buffer
	for _, p := range ps {
		b.WriteString(p.Data)
	}
	return b.String()
}

// regularPieces splits data from a regular file: the reference.
func regularPieces(t *testing.T, data []byte, block int64, opts *split.Options) []piece {
	t.Helper()
	path := filepath.Join(t.TempDir(), "regular")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	in, err := split.OpenInput(path, opts)
	require.NoError(t, err)
	defer in.Close()
	require.False(t, in.Streamed())
	require.Equal(t, int64(len(data)), in.Size())
	return splitAll(t, in.Blocks(block))
}

// feed writes data to w in a goroutine and closes it; wait returns the
// write error.
func feed(w io.WriteCloser, data []byte) (wait func() error) {
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(data)
		done <- joinErr(err, w.Close())
	}()
	return func() error { return <-done }
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// withStdin makes os.Stdin f while fn runs.
func withStdin(f *os.File, fn func()) {
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	fn()
}

func TestOpenInputNonRegularMatchesRegular(t *testing.T) {
	data := lines(20 << 10)
	proc, err := os.ReadFile("/proc/filesystems")
	require.NoError(t, err)
	require.NotEmpty(t, proc)
	st, err := os.Stat("/proc/filesystems")
	require.NoError(t, err)
	require.Zero(t, st.Size(), "a /proc file that Stat says is empty")

	type source struct {
		name string
		data []byte
		open func(t *testing.T, opts *split.Options) (in *split.Input, wait func() error)
	}
	pipeOpen := func(data []byte) func(*testing.T, *split.Options) (*split.Input, func() error) {
		return func(t *testing.T, opts *split.Options) (*split.Input, func() error) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			in, err := split.NewInput("pipe", r, opts)
			require.NoError(t, err)
			return in, feed(w, data)
		}
	}
	for _, src := range []source{
		{"fifo", data, func(t *testing.T, opts *split.Options) (*split.Input, func() error) {
			path := filepath.Join(t.TempDir(), "fifo")
			require.NoError(t, syscall.Mkfifo(path, 0o600))
			done := make(chan error, 1)
			go func() {
				w, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					done <- err
					return
				}
				done <- feed(w, data)()
			}()
			in, err := split.OpenInput(path, opts)
			require.NoError(t, err)
			return in, func() error { return <-done }
		}},
		{"os.Pipe", data, pipeOpen(data)},
		{"stdin pipe as -", data, func(t *testing.T, opts *split.Options) (*split.Input, func() error) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			var in *split.Input
			withStdin(r, func() { in, err = split.OpenInput("-", opts) })
			require.NoError(t, err)
			assert.Equal(t, "standard input", in.Name())
			return in, feed(w, data)
		}},
		{"/proc file", proc, func(t *testing.T, opts *split.Options) (*split.Input, func() error) {
			in, err := split.OpenInput("/proc/filesystems", opts)
			require.NoError(t, err)
			return in, func() error { return nil }
		}},
		{"reader", data, func(t *testing.T, opts *split.Options) (*split.Input, func() error) {
			in, err := split.NewInput("reader", onlyReader{bytes.NewReader(data)}, opts)
			require.NoError(t, err)
			return in, func() error { return nil }
		}},
	} {
		for _, budget := range []int64{0, -1} {
			t.Run(fmt.Sprintf("%s/budget=%d", src.name, budget), func(t *testing.T) {
				tmp := t.TempDir()
				opts := &split.Options{MemoryBudget: budget, TempDir: tmp}
				const block = 64
				want := regularPieces(t, src.data, block, opts)
				require.Greater(t, len(want), 1, "several chunks")

				in, wait := src.open(t, opts)
				assert.True(t, in.Streamed())
				assert.Equal(t, int64(-1), in.Size())
				got := splitAll(t, in.Blocks(block))
				require.NoError(t, wait())
				assert.Equal(t, string(src.data), concat(got), "byte-identical to the input")
				assert.Equal(t, want, got, "same chunks as from a regular file")
				if budget < 0 {
					left, err := os.ReadDir(tmp)
					require.NoError(t, err)
					assert.NotEmpty(t, left, "spooled to temp files")
				}
				require.NoError(t, in.Close())
				left, err := os.ReadDir(tmp)
				require.NoError(t, err)
				assert.Empty(t, left, "Close removes the spool files")
			})
		}
	}
}

func TestOpenInputEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	in, err := split.OpenInput(path, nil)
	require.NoError(t, err)
	defer in.Close()
	assert.False(t, in.Streamed(), "an empty regular file is read in place")
	assert.Equal(t, int64(0), in.Size())
	assert.Empty(t, splitAll(t, in.Blocks(0)))

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, w.Close())
	pin, err := split.NewInput("pipe", r, nil)
	require.NoError(t, err)
	defer pin.Close()
	assert.Empty(t, splitAll(t, pin.Blocks(0)), "an empty stream yields no chunk")

	b, c, err := split.BlocksFile(path, 0, nil)
	require.NoError(t, err)
	defer c.Close()
	assert.Empty(t, splitAll(t, b))
}

func TestOpenInputStdinFileFromOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in")
	require.NoError(t, os.WriteFile(path, []byte("skip\nkeep 1\nkeep 2\n"), 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Seek(5, io.SeekStart)
	require.NoError(t, err)
	var in *split.Input
	withStdin(f, func() { in, err = split.OpenInput("-", nil) })
	require.NoError(t, err)
	assert.False(t, in.Streamed(), "a regular file on stdin is read in place")
	assert.Equal(t, int64(14), in.Size())
	assert.Equal(t, "keep 1\nkeep 2\n", concat(splitAll(t, in.Blocks(1))))
	require.NoError(t, in.Close())
	_, err = f.Stat()
	assert.NoError(t, err, "Close leaves standard input open")
}

func TestFileSplittersRefuseNonRegular(t *testing.T) {
	_, _, err := split.BlocksFile("/proc/filesystems", 0, nil)
	assert.ErrorIs(t, err, split.ErrNotRegular)
	_, _, err = split.EvenFile("/proc/filesystems", 3, nil)
	assert.ErrorIs(t, err, split.ErrNotRegular)

	path := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Write([]byte("a line\n")) // may fail once the reader is gone
			w.Close()
		}
	}()
	_, _, err = split.BlocksFile(path, 0, nil)
	assert.ErrorIs(t, err, split.ErrNotRegular)
	assert.Contains(t, err.Error(), path)
	<-done

	in, err := split.OpenInput("/proc/filesystems", nil)
	require.NoError(t, err)
	defer in.Close()
	_, err = in.Even(2)
	assert.ErrorIs(t, err, split.ErrNotRegular)

	_, err = split.OpenInput(t.TempDir(), nil)
	assert.ErrorIs(t, err, split.ErrInvalid, "a directory")
	_, err = split.OpenInput(filepath.Join(t.TempDir(), "missing"), nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = split.NewInput("nil", nil, nil)
	assert.ErrorIs(t, err, split.ErrInvalid)
}

func TestInputEvenRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in")
	require.NoError(t, os.WriteFile(path, []byte("a\nb\nc\nd\n"), 0o644))
	in, err := split.OpenInput(path, nil)
	require.NoError(t, err)
	defer in.Close()
	e, err := in.Even(2)
	require.NoError(t, err)
	got := splitAll(t, e)
	require.Len(t, got, 2)
	assert.Equal(t, "a\nb\n", got[0].Data)
	assert.Equal(t, "c\nd\n", got[1].Data)
}

func TestInputStreamOnce(t *testing.T) {
	in, err := split.NewInput("reader", bytes.NewReader([]byte("x\ny\n")), nil)
	require.NoError(t, err)
	assert.Equal(t, "x\ny\n", concat(splitAll(t, in.Blocks(1))))
	err = in.Blocks(1).Split(context.Background(), func(split.Chunk) error { return nil })
	assert.ErrorIs(t, err, split.ErrInvalid, "a stream is read once")
	require.NoError(t, in.Close())
	require.NoError(t, in.Close(), "Close is idempotent")

	in, err = split.NewInput("reader", bytes.NewReader([]byte("x\n")), nil)
	require.NoError(t, err)
	require.NoError(t, in.Close())
	err = in.Blocks(1).Split(context.Background(), func(split.Chunk) error { return nil })
	assert.ErrorIs(t, err, split.ErrClosed)
}

func TestInputChunksUnreadableAfterClose(t *testing.T) {
	in, err := split.NewInput("reader", bytes.NewReader([]byte("x\ny\n")), nil)
	require.NoError(t, err)
	var chunks []split.Chunk
	require.NoError(t, in.Blocks(1).Split(context.Background(), func(c split.Chunk) error {
		chunks = append(chunks, c)
		return nil
	}))
	require.Len(t, chunks, 2)
	require.NoError(t, in.Close())
	_, err = chunks[0].Open()
	assert.ErrorIs(t, err, split.ErrClosed)
}

func TestInputCancelBlockedFIFORead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			close(opened)
			return
		}
		w.Write([]byte("first line\n"))
		opened <- w // keep it open: the reader waits for more
	}()
	in, err := split.OpenInput(path, nil)
	require.NoError(t, err)
	defer in.Close()
	w := <-opened
	require.NotNil(t, w)
	defer w.Close()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- in.Blocks(1<<20).Split(ctx, func(split.Chunk) error { return nil })
	}()
	time.Sleep(50 * time.Millisecond) // let Split block in its read
	cancel()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Split did not return after cancel while blocked on a FIFO")
	}
}
