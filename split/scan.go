package split

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
)

const (
	// scanBuffer is the size of the read buffer the ReaderAt splitters
	// scan with: large enough that bytes.Count and bytes.Index run at
	// memory speed, small enough to be bounded.
	scanBuffer = 1 << 20
	// firstRead is the size of the first read after a seek. Reads double
	// from there up to scanBuffer, so that looking for the end of one
	// line near a block boundary reads little.
	firstRead = 4 << 10
)

// scanner finds separators in the region [0, limit) of a ReaderAt, left to
// right, taking the leftmost match and continuing after it.
type scanner struct {
	ctx   context.Context
	r     io.ReaderAt
	sep   []byte
	limit int64
	buf   []byte
	base  int64 // input offset of buf[0]
	n     int   // valid bytes in buf
	i     int   // search position in buf: every match before it was consumed
	read  int   // size of the next read
	last  int64 // input offset just after the last separator passed, or -1
	count int64 // separators passed since the last seek
	marks *marks
}

// mark is a place where a scan can restart: count separators were passed
// before offset off, and none that was not starts before it.
type mark struct{ off, count int64 }

// marks keeps at most maxMarks evenly spread marks of a scan, so that a
// second pass can start near a given record instead of at the beginning.
type marks struct {
	list   []mark
	stride int // keep one fill in stride
	fills  int
}

const maxMarks = 1024

func (m *marks) add(k mark) {
	m.fills++
	if m.fills%m.stride != 0 {
		return
	}
	if len(m.list) == maxMarks {
		for i := range maxMarks / 2 {
			m.list[i] = m.list[2*i+1]
		}
		m.list = m.list[:maxMarks/2]
		m.stride *= 2
		if m.fills%m.stride != 0 {
			return
		}
	}
	m.list = append(m.list, k)
}

// before returns the last mark with fewer than count separators before it,
// or def.
func (m *marks) before(count int64, def mark) mark {
	best := def
	for _, k := range m.list {
		if k.count >= count {
			break
		}
		best = k
	}
	return best
}

func newScanner(ctx context.Context, r io.ReaderAt, limit int64, sep []byte) *scanner {
	// The buffer need not be larger than the input; it must hold two
	// separators so that every fill makes progress.
	size := int(min(scanBuffer, max(limit, firstRead)))
	size = max(size, 2*len(sep))
	return &scanner{ctx: ctx, r: r, sep: sep, limit: limit, buf: make([]byte, size), read: firstRead, last: -1}
}

// seek moves the search position to off, which must be at a record
// boundary or, for a separator without a border, anywhere.
func (s *scanner) seek(off int64) {
	s.base, s.n, s.i, s.read, s.last, s.count = off, 0, 0, firstRead, -1, 0
}

// pos returns the search position: the end of the last separator found, or
// limit once the input is exhausted.
func (s *scanner) pos() int64 { return s.base + int64(s.i) }

// fill drops the bytes that cannot start a match any more and reads more.
// It reports false when the region is exhausted.
func (s *scanner) fill() (bool, error) {
	end := s.base + int64(s.n)
	if end >= s.limit {
		return false, nil
	}
	if err := s.ctx.Err(); err != nil {
		return false, fmt.Errorf("split: %w", err)
	}
	keep := max(s.i, s.n-(len(s.sep)-1))
	keep = min(max(keep, 0), s.n)
	if s.marks != nil && keep > 0 {
		// No match starts in [i, keep), so a scan can restart at keep.
		s.marks.add(mark{s.base + int64(keep), s.count})
	}
	copy(s.buf, s.buf[keep:s.n])
	s.base += int64(keep)
	s.n -= keep
	s.i = 0
	want := min(s.read, len(s.buf)-s.n)
	if rest := s.limit - (s.base + int64(s.n)); int64(want) > rest {
		want = int(rest)
	}
	s.read = min(2*s.read, len(s.buf))
	m, err := s.r.ReadAt(s.buf[s.n:s.n+want], s.base+int64(s.n))
	s.n += m
	if m < want {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("split: reading input at offset %d: %w", s.base+int64(s.n), err)
	}
	return true, nil
}

// advance moves past up to want separators and returns how many it passed.
// When it returns fewer than want, the region is exhausted and pos() is
// limit.
func (s *scanner) advance(want int64) (int64, error) {
	start := s.count
	for s.count-start < want {
		rem := want - (s.count - start)
		window := s.buf[s.i:s.n]
		if len(s.sep) == 1 {
			c := s.sep[0]
			if k := int64(bytes.Count(window, s.sep)); k < rem {
				if k > 0 {
					s.count += k
					s.last = s.base + int64(s.i+bytes.LastIndexByte(window, c)+1)
				}
				s.i = s.n
			} else {
				for range rem {
					s.i += bytes.IndexByte(s.buf[s.i:s.n], c) + 1
				}
				s.count += rem
				s.last = s.pos()
				return want, nil
			}
		} else if j := bytes.Index(window, s.sep); j >= 0 {
			s.i += j + len(s.sep)
			s.last = s.pos()
			s.count++
			continue
		}
		more, err := s.fill()
		if err != nil {
			return s.count - start, err
		}
		if !more {
			s.i = s.n
			return s.count - start, nil
		}
	}
	return s.count - start, nil
}

// countAll counts the separators from the search position to limit.
func (s *scanner) countAll() (int64, error) { return s.advance(math.MaxInt64) }

// findHeader returns the end of the header record (the first record of the
// input), or ok == false when the input has no complete first record.
func findHeader(ctx context.Context, r io.ReaderAt, size int64, sep []byte) (end int64, ok bool, err error) {
	sc := newScanner(ctx, r, size, sep)
	got, err := sc.advance(1)
	if err != nil || got == 0 {
		return 0, false, err
	}
	return sc.pos(), true, nil
}

// sectionOpener returns an open function for a chunk made of an optional
// header section and a data section of r.
func sectionOpener(r io.ReaderAt, headerLen, off, size int64) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		data := io.NewSectionReader(r, off, size)
		if headerLen == 0 {
			return io.NopCloser(data), nil
		}
		return io.NopCloser(io.MultiReader(io.NewSectionReader(r, 0, headerLen), data)), nil
	}
}

// checkReaderAt validates the arguments common to the ReaderAt splitters.
func checkReaderAt(r io.ReaderAt, size int64, c *config) error {
	if r == nil {
		return errInvalid("nil input")
	}
	if size < 0 {
		return errInvalid("negative size %d", size)
	}
	return c.validate()
}
