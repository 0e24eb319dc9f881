package split

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"dproc/internal/iox"
)

// ErrNotRegular is wrapped by the error of [EvenFile], [BlocksFile] and
// [Input.Even] for an input that cannot be read in place: a pipe, a FIFO,
// a character device, standard input when it is not a file, or a file
// that Stat says is empty but that has content (as /proc files do).
// Splitting such an input by its Stat size would give no chunk at all,
// so they refuse it; [OpenInput] streams it instead.
var ErrNotRegular = errors.New("split: not a regular file of known size")

// DefaultStreamBlockSize is the block size [Input.Blocks] uses for a
// streamed input when given a block size < 1: 4 MiB. The size of a stream
// is not known in advance, so [BlockSizeFor] cannot be used; 4 MiB keeps a
// chunk's overhead small next to its data, cuts inputs of a few tens of MiB
// into enough chunks to keep several nodes busy, and lets 16 unreleased
// chunks fit in the default memory budget.
const DefaultStreamBlockSize = 4 << 20

// Input is an input opened by name with [OpenInput] or wrapped with
// [NewInput]: a regular file, read in place, or anything else (a pipe, a
// FIFO, a device, standard input, a /proc file), read once as a stream and
// spooled so that chunks can be opened again.
//
// Get a Splitter from it with [Input.Blocks] or [Input.Even], and Close it
// once the chunks are no longer needed. An Input is safe for concurrent
// use.
type Input struct {
	name   string
	f      *os.File  // nil for a reader that is not a file
	closer io.Closer // what Close closes: the file OpenInput opened, or nil
	ra     io.ReaderAt
	size   int64 // -1 for a stream
	stream io.Reader
	opts   *Options

	mu     sync.Mutex
	used   bool // the stream was handed to a splitter
	ss     *StreamSplitter
	closed bool
}

// OpenInput opens the named input for splitting. The name "-" means the
// process's standard input (os.Stdin), which Close leaves open.
//
// A regular file is read in place, from its first byte (for "-", from the
// current offset of standard input, so that `(head -n 1; prog -input -) <
// file` sees the rest of the file), up to the size Stat gives when it is
// opened. Anything else is streamed: pipes, FIFOs, character devices,
// sockets, and regular files that Stat says are empty but that hold bytes
// (files of /proc and the like; a probe read of one byte at offset 0 tells
// them from an empty file). A directory is an error wrapping [ErrInvalid].
// Opening a FIFO waits for a writer, as open(2) does.
func OpenInput(path string, opts *Options) (*Input, error) {
	if path == "-" {
		return NewInput("standard input", os.Stdin, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	in, err := newInput(path, f, f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

// NewInput returns an Input over r, named name in errors. When r is an
// *os.File it is classified as [OpenInput] does (a regular file is read in
// place from its current offset, anything else is streamed); any other
// reader is streamed. Close does not close r.
func NewInput(name string, r io.Reader, opts *Options) (*Input, error) {
	if r == nil {
		return nil, errInvalid("nil input %q", name)
	}
	if f, ok := r.(*os.File); ok {
		return newInput(name, f, nil, opts)
	}
	return &Input{name: name, stream: r, size: -1, opts: copyOptions(opts)}, nil
}

func newInput(name string, f *os.File, closer io.Closer, opts *Options) (*Input, error) {
	in := &Input{name: name, f: f, closer: closer, size: -1, opts: copyOptions(opts)}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	switch {
	case st.IsDir():
		return nil, errInvalid("input %s is a directory", name)
	case st.Mode().IsRegular():
		regular, err := hasKnownSize(f, st)
		if err != nil {
			return nil, fmt.Errorf("split: reading %s: %w", name, err)
		}
		if regular {
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, fmt.Errorf("split: %s: %w", name, err)
			}
			size := max(st.Size()-off, 0)
			in.ra, in.size = io.NewSectionReader(f, off, size), size
			return in, nil
		}
	}
	in.stream = f
	return in, nil
}

// hasKnownSize reports whether a regular file's Stat size tells its
// content: a file of size 0 that yields a byte at offset 0 (/proc, sysfs
// attributes, some FUSE files) does not.
func hasKnownSize(f *os.File, st fs.FileInfo) (bool, error) {
	if st.Size() > 0 {
		return true, nil
	}
	var b [1]byte
	n, err := f.ReadAt(b[:], 0)
	if n > 0 {
		return false, nil
	}
	if err != nil && err != io.EOF {
		return false, err
	}
	return true, nil
}

func copyOptions(opts *Options) *Options {
	if opts == nil {
		return nil
	}
	o := *opts
	return &o
}

// Name returns the name the input was opened with ("standard input" for
// "-").
func (in *Input) Name() string { return in.name }

// Size returns the number of bytes a regular input holds, or -1 for an
// input that is streamed, whose size is not known before it is read.
func (in *Input) Size() int64 { return in.size }

// Streamed reports whether the input is read once as a stream (and
// spooled) rather than in place.
func (in *Input) Streamed() bool { return in.ra == nil }

// Blocks returns a Splitter that cuts the input into line-aligned blocks of
// at least blockSize bytes: a [BlockSplitter] over a regular file, or a
// [StreamSplitter] for a streamed input, which keeps each chunk in memory
// within Options.MemoryBudget, then in a temp file in Options.TempDir, until
// the chunk is released or the Input closed, so that a retry can read it
// again. Both cut at the same places, so a stream and a file of the same
// bytes give the same chunks.
//
// A blockSize < 1 means [BlockSizeFor](Size(), 1) for a regular file and
// [DefaultStreamBlockSize] for a stream. A stream can be read only once:
// Split on the splitter of a second Blocks call fails with an error
// wrapping [ErrInvalid].
//
// Cancelling Split's context interrupts a read blocked on a pipe or FIFO
// opened by name (one that supports read deadlines); a read blocked on a
// standard input that does not support them returns only when data or
// end of file arrives.
func (in *Input) Blocks(blockSize int64) Splitter {
	if in.ra != nil {
		if blockSize < 1 {
			blockSize = BlockSizeFor(in.size, 1)
		}
		return Blocks(in.ra, in.size, blockSize, in.opts)
	}
	if blockSize < 1 {
		blockSize = DefaultStreamBlockSize
	}
	return SplitterFunc(func(ctx context.Context, yield func(Chunk) error) error {
		in.mu.Lock()
		if in.closed {
			in.mu.Unlock()
			return ErrClosed
		}
		if in.used {
			in.mu.Unlock()
			return errInvalid("input %s is a stream and was already split", in.name)
		}
		in.used = true
		r := in.stream
		if in.f != nil {
			// Interrupt a blocked read when ctx ends (a pipe or FIFO
			// has read deadlines), report it as ctx's error, and leave
			// no deadline on the file once Split is done.
			stop, _ := iox.InterruptReads(ctx, in.f)
			defer stop()
			r = iox.NewContextReader(ctx, in.f)
		}
		ss := Stream(r, blockSize, in.opts)
		in.ss = ss
		in.mu.Unlock()
		return ss.Split(ctx, yield)
	})
}

// Even returns an [EvenSplitter] cutting a regular input into n chunks of
// the same number of records. Even must count every record before the
// first chunk, which a stream cannot afford without holding all of it, so
// for a streamed input it returns an error wrapping [ErrNotRegular]; use
// Blocks for those.
func (in *Input) Even(n int) (*EvenSplitter, error) {
	if in.ra == nil {
		return nil, fmt.Errorf("split: %s cannot be split evenly, use blocks: %w", in.name, ErrNotRegular)
	}
	return Even(in.ra, in.size, n, in.opts), nil
}

// Close frees what a streamed input's chunks hold (memory and temp files)
// and closes the file OpenInput opened (never standard input, nor the
// reader given to NewInput). Chunks cannot be opened after Close. Close is
// idempotent.
func (in *Input) Close() error {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil
	}
	in.closed = true
	ss := in.ss
	in.mu.Unlock()
	var errs []error
	if ss != nil {
		errs = append(errs, ss.Close())
	}
	if in.closer != nil {
		errs = append(errs, in.closer.Close())
	}
	return errors.Join(errs...)
}
