package split

import (
	"context"
	"fmt"
	"io"
)

// EvenSplitter cuts a random-access input into a given number of chunks
// that hold the same number of records, give or take one: one chunk per
// node, each with an equal share of the work when records cost alike.
// Create one with [Even].
type EvenSplitter struct {
	r    io.ReaderAt
	size int64
	n    int
	cfg  config
}

var _ Splitter = (*EvenSplitter)(nil)

// Even returns a Splitter that cuts the first size bytes of r into
// min(n, records) chunks whose record counts differ by at most one, the
// first chunks taking the extra records. Chunks end only after a separator
// (or at the end of the input). Chunk.Records holds each chunk's count.
//
// Split reads the input twice, sequentially, in 1 MiB reads: once to count
// the records, once to find the boundaries. Chunks read r with
// io.SectionReader, so r must allow concurrent ReadAt calls (an *os.File,
// a *bytes.Reader and an *io.SectionReader do) and must stay readable until
// the chunks are no longer needed. Split returns an error wrapping
// [ErrInvalid] when n < 1.
func Even(r io.ReaderAt, size int64, n int, opts *Options) *EvenSplitter {
	return &EvenSplitter{r: r, size: size, n: n, cfg: newConfig(opts)}
}

// Split implements [Splitter].
func (e *EvenSplitter) Split(ctx context.Context, yield func(Chunk) error) error {
	if err := checkReaderAt(e.r, e.size, &e.cfg); err != nil {
		return err
	}
	if e.n < 1 {
		return errInvalid("chunk count %d < 1", e.n)
	}
	start, ok, err := dataStart(ctx, e.r, e.size, &e.cfg)
	if err != nil || !ok {
		return err
	}
	sc := newScanner(ctx, e.r, e.size, e.cfg.sep)
	sc.seek(start)
	marks := &marks{stride: 1}
	sc.marks = marks
	seps, err := sc.countAll()
	if err != nil {
		return err
	}
	sc.marks = nil
	records := seps
	if sc.last != e.size {
		records++ // a last record without a separator
	}
	if records == 0 {
		return nil
	}
	k := min(int64(e.n), records)
	base, extra := records/k, records%k
	// The second pass restarts from the mark of the first pass nearest
	// before each boundary, so it reads little more than a window per chunk.
	first := mark{off: start}
	var done int64 // separators before the current chunk
	off := start
	for i := range k {
		want := base
		if i < extra {
			want++
		}
		end := e.size
		if i < k-1 {
			m := marks.before(done+want, first)
			if sc.count >= done+want || m.off > sc.pos() {
				sc.seek(m.off)
				sc.count = m.count
			}
			got, err := sc.advance(done + want - sc.count)
			if err != nil {
				return err
			}
			if sc.count != done+want {
				return fmt.Errorf("split: input changed while splitting (%d separators passed): %w", got, io.ErrUnexpectedEOF)
			}
			end = sc.pos()
		}
		done += want
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("split: %w", err)
		}
		c := NewChunk(int(i), off, e.headerLen(start)+end-off, want, sectionOpener(e.r, e.headerLen(start), off, end-off), nil)
		if err := yield(c); err != nil {
			return err
		}
		off = end
	}
	return nil
}

func (e *EvenSplitter) headerLen(start int64) int64 {
	if e.cfg.header {
		return start
	}
	return 0
}

// dataStart returns where the records to split begin: 0, or the end of the
// header record. ok is false when there is nothing to split.
func dataStart(ctx context.Context, r io.ReaderAt, size int64, c *config) (int64, bool, error) {
	if !c.header {
		return 0, size > 0, nil
	}
	end, ok, err := findHeader(ctx, r, size, c.sep)
	if err != nil || !ok {
		return 0, false, err
	}
	return end, end < size, nil
}
