package split

import (
	"context"
	"io"
)

// Chunk is one piece of the input: a description (its index, where it lies
// in the input, its size) and a way to read it, as many times as needed.
//
// A Chunk is a small value; copy it freely. Open may be called any number of
// times, concurrently, until Release; each call returns an independent
// reader positioned at the chunk's first byte.
type Chunk struct {
	// Index is the chunk's position in the input, counting from 0.
	// A Splitter yields chunks in Index order with no gaps.
	Index int
	// Offset is where the chunk's data starts in the input, or -1 when the
	// input has no offsets (a list of items, say). A copied header line is
	// not counted in Offset.
	Offset int64
	// Size is the number of bytes Open returns, header line included.
	Size int64
	// Records is the number of records (lines) in the chunk, header line
	// not included, or -1 when the splitter did not count them.
	Records int64

	open    func() (io.ReadCloser, error)
	release func()
}

// NewChunk returns a Chunk that opens with open and, when release is not
// nil, frees its storage with release. It is for implementers of
// [Splitter].
func NewChunk(index int, offset, size, records int64, open func() (io.ReadCloser, error), release func()) Chunk {
	return Chunk{Index: index, Offset: offset, Size: size, Records: records, open: open, release: release}
}

// Open returns a new reader over the chunk's bytes. The caller must close it.
func (c Chunk) Open() (io.ReadCloser, error) {
	if c.open == nil {
		return io.NopCloser(eofReader{}), nil
	}
	return c.open()
}

// Release tells the splitter that the chunk will not be opened again, so
// that any storage it holds (a spooled copy of stream input) can be freed.
// The dispatcher calls it once the chunk's output is committed. Release is
// idempotent only if the release function given to NewChunk is; the
// splitters in this package make it so.
func (c Chunk) Release() {
	if c.release != nil {
		c.release()
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Splitter cuts an input into chunks.
//
// Split calls yield once for each chunk, in Index order starting at 0, from
// the goroutine that called Split. If yield returns an error, Split stops and
// returns that error. If ctx ends, Split stops and returns an error for which
// errors.Is(err, ctx.Err()) holds. Split returns nil after the last chunk; an
// empty input yields no chunk at all.
//
// Chunks stay readable after Split returns, until they are released or the
// Splitter is closed (for splitters that implement io.Closer). yield may
// block: a streaming splitter then stops reading its input, which is how the
// dispatcher bounds the memory held by chunks not yet processed.
type Splitter interface {
	Split(ctx context.Context, yield func(Chunk) error) error
}

// SplitterFunc adapts a function to the [Splitter] interface.
type SplitterFunc func(ctx context.Context, yield func(Chunk) error) error

// Split calls f(ctx, yield).
func (f SplitterFunc) Split(ctx context.Context, yield func(Chunk) error) error { return f(ctx, yield) }
