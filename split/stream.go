package split

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

const (
	// streamBuffer is the size of a StreamSplitter's read buffer, which
	// is not counted in the memory budget.
	streamBuffer = 1 << 20
	// maxPiece is the largest allocation unit of an in-memory spool
	// (a piece grows to the size of a single write when that is larger).
	maxPiece = 64 << 10
)

// StreamSplitter cuts a non-seekable input (a pipe, a network stream) into
// line-aligned blocks as it reads it, and keeps each chunk's bytes so that
// chunks can be opened again (for a retry) until released. Create one with
// [Stream]; Close it when its chunks are no longer needed.
//
// A StreamSplitter's Release, Open and Close methods are safe for
// concurrent use; Split may be called only once.
type StreamSplitter struct {
	r     io.Reader
	block int64
	cfg   config

	mu      sync.Mutex
	used    int64 // bytes reserved by in-memory spools
	peak    int64 // largest value used has had
	live    map[*spool]struct{}
	closed  bool
	started bool
}

var (
	_ Splitter  = (*StreamSplitter)(nil)
	_ io.Closer = (*StreamSplitter)(nil)
)

// Stream returns a Splitter that reads r once, from start to end, and cuts
// it into chunks of at least blockSize bytes (header aside) but the last,
// each ending at the end of the first record that reaches blockSize, as
// [Blocks] does for a random-access input. Records are not counted:
// Chunk.Records is -1.
//
// # Memory
//
// Each chunk's bytes are copied as they are read: into memory while the
// bytes held by unreleased chunks (and the header) stay within
// Options.MemoryBudget, otherwise into a temp file in Options.TempDir. A
// chunk that starts in memory and outgrows the budget moves to a file.
// Chunk.Release frees a chunk's memory or removes its file; Close frees
// everything, removes every file, and makes Open fail with [ErrClosed]. On
// top of the budget, Split uses one read buffer of up to 1 MiB. yield may block to
// slow the reading down: Split reads nothing while yield runs.
//
// Split returns an error wrapping [ErrInvalid] when blockSize < 1 or when
// called a second time (a stream can be read only once), and [ErrClosed]
// after Close.
func Stream(r io.Reader, blockSize int64, opts *Options) *StreamSplitter {
	return &StreamSplitter{r: r, block: blockSize, cfg: newConfig(opts), live: make(map[*spool]struct{})}
}

// MemoryInUse returns the bytes currently held in memory by unreleased
// chunks and the header, and the largest value it has had. Both stay
// within Options.MemoryBudget.
func (s *StreamSplitter) MemoryInUse() (now, peak int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.peak
}

// Close frees every chunk's storage and removes every temp file. Chunks
// opened before Close stay readable on systems that allow reading a
// removed file (Unix); later Opens fail with [ErrClosed]. Close is
// idempotent; it returns the errors met while removing files.
func (s *StreamSplitter) Close() error {
	s.mu.Lock()
	s.closed = true
	spools := make([]*spool, 0, len(s.live))
	for p := range s.live {
		spools = append(spools, p)
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range spools {
		errs = append(errs, p.free(ErrClosed))
	}
	return errors.Join(errs...)
}

func (s *StreamSplitter) reserve(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+n > s.cfg.budget {
		return false
	}
	s.used += n
	s.peak = max(s.peak, s.used)
	return true
}

func (s *StreamSplitter) unreserve(n int64) {
	s.mu.Lock()
	s.used -= n
	s.mu.Unlock()
}

func (s *StreamSplitter) newSpool() (*spool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	p := &spool{s: s, pieceCap: int(min(s.block, maxPiece))}
	s.live[p] = struct{}{}
	return p, nil
}

// Split implements [Splitter].
func (s *StreamSplitter) Split(ctx context.Context, yield func(Chunk) error) error {
	if s.r == nil {
		return errInvalid("nil input")
	}
	if s.block < 1 {
		return errInvalid("block size %d < 1", s.block)
	}
	if err := s.cfg.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	closed, started := s.closed, s.started
	s.started = true
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if started {
		return errInvalid("Split called twice on a stream")
	}
	st := streamState{s: s, ctx: ctx, yield: yield, inHeader: s.cfg.header}
	err := st.run()
	if st.cur != nil {
		st.cur.free(ErrReleased)
	}
	return err
}

// streamState is the state of one StreamSplitter.Split call.
type streamState struct {
	s     *StreamSplitter
	ctx   context.Context
	yield func(Chunk) error

	buf   []byte
	base  int64 // input offset of buf[0]
	n     int   // valid bytes in buf
	scan  int   // search position in buf: every match before it was seen
	from  int   // first byte of buf not yet copied to cur
	start int64 // input offset of the current chunk's first byte
	cur   *spool
	index int

	inHeader bool
	header   *spool
}

func (t *streamState) run() error {
	sep := t.s.cfg.sep
	// Small blocks do not need a large buffer (it only makes reads larger).
	t.buf = make([]byte, max(min(streamBuffer, max(2*t.s.block, firstRead)), 2*int64(len(sep))))
	eof := false
	for {
		if err := t.cut(); err != nil {
			return err
		}
		if eof {
			if t.cur == nil && t.from == t.n {
				return nil
			}
			if t.inHeader {
				return nil // only part of a header: no chunk
			}
			return t.emit(t.n)
		}
		if err := t.write(t.from, t.n); err != nil {
			return err
		}
		keep := min(max(t.scan, t.n-(len(sep)-1), 0), t.n)
		copy(t.buf, t.buf[keep:t.n])
		t.base += int64(keep)
		t.n -= keep
		t.scan, t.from = 0, t.n
		if err := t.ctx.Err(); err != nil {
			return fmt.Errorf("split: %w", err)
		}
		m, err := t.s.r.Read(t.buf[t.n:])
		t.n += m
		if err == io.EOF {
			eof = true
		} else if err != nil {
			return fmt.Errorf("split: reading input at offset %d: %w", t.base+int64(t.n), err)
		}
	}
}

// cut emits every chunk that ends within the buffer.
func (t *streamState) cut() error {
	sep := t.s.cfg.sep
	for {
		block := t.s.block
		if t.inHeader {
			block = 1
		}
		target := t.start + block
		if !t.s.cfg.bordered {
			// Matches that end before target cannot end the chunk.
			if j := target - int64(len(sep)) - t.base; j > int64(t.scan) {
				t.scan = int(min(j, int64(t.n)))
			}
		}
		j := bytes.Index(t.buf[t.scan:t.n], sep)
		if j < 0 {
			return nil
		}
		t.scan += j + len(sep)
		if t.base+int64(t.scan) >= target {
			if err := t.emit(t.scan); err != nil {
				return err
			}
		}
	}
}

// write copies buf[i:j] to the current chunk.
func (t *streamState) write(i, j int) error {
	if i == j {
		return nil
	}
	if t.cur == nil {
		p, err := t.s.newSpool()
		if err != nil {
			return err
		}
		t.cur = p
	}
	t.from = j
	return t.cur.write(t.buf[i:j])
}

// emit ends the current chunk at buf[end] and yields it.
func (t *streamState) emit(end int) error {
	if err := t.write(t.from, end); err != nil {
		return err
	}
	p := t.cur
	t.cur = nil
	off := t.start
	t.start = t.base + int64(end)
	if err := p.finish(); err != nil {
		p.free(ErrReleased)
		return err
	}
	if t.inHeader {
		t.inHeader, t.header = false, p
		return nil
	}
	if err := t.ctx.Err(); err != nil {
		p.free(ErrReleased)
		return fmt.Errorf("split: %w", err)
	}
	h := t.header
	size := p.size
	open := p.open
	if h != nil {
		size += h.size
		open = func() (io.ReadCloser, error) {
			hr, err := h.open()
			if err != nil {
				return nil, err
			}
			dr, err := p.open()
			if err != nil {
				hr.Close()
				return nil, err
			}
			return &multiReadCloser{Reader: io.MultiReader(hr, dr), closers: []io.Closer{hr, dr}}, nil
		}
	}
	c := NewChunk(t.index, off, size, -1, open, func() { p.free(ErrReleased) })
	t.index++
	return t.yield(c)
}

type multiReadCloser struct {
	io.Reader
	closers []io.Closer
}

func (m *multiReadCloser) Close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// spool holds one chunk's bytes: in memory pieces, or in a temp file once
// the memory budget is exhausted.
type spool struct {
	s        *StreamSplitter
	pieceCap int

	mu       sync.Mutex
	pieces   [][]byte
	reserved int64
	file     *os.File // write handle while spooling to disk
	path     string   // temp file, once spilled
	size     int64
	gone     error // ErrReleased or ErrClosed once freed
}

func (p *spool) write(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone != nil {
		return p.gone
	}
	for p.path == "" && len(b) > 0 {
		if k := len(p.pieces); k > 0 {
			last := p.pieces[k-1]
			if room := cap(last) - len(last); room > 0 {
				m := min(room, len(b))
				p.pieces[k-1] = append(last, b[:m]...)
				b = b[m:]
				p.size += int64(m)
				continue
			}
		}
		c := max(len(b), p.pieceCap)
		if !p.s.reserve(int64(c)) {
			if err := p.spill(); err != nil {
				return err
			}
			break
		}
		p.reserved += int64(c)
		p.pieces = append(p.pieces, make([]byte, 0, c))
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := p.file.Write(b); err != nil {
		return fmt.Errorf("split: spooling chunk: %w", err)
	}
	p.size += int64(len(b))
	return nil
}

// spill moves the spool to a temp file. p.mu is held.
func (p *spool) spill() error {
	f, err := os.CreateTemp(p.s.cfg.tempDir, "dproc-split-*.chunk")
	if err != nil {
		return fmt.Errorf("split: spooling chunk: %w", err)
	}
	p.file, p.path = f, f.Name()
	for _, piece := range p.pieces {
		if _, err := f.Write(piece); err != nil {
			return fmt.Errorf("split: spooling chunk: %w", err)
		}
	}
	p.pieces = nil
	p.s.unreserve(p.reserved)
	p.reserved = 0
	return nil
}

// finish ends writing.
func (p *spool) finish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return nil
	}
	err := p.file.Close()
	p.file = nil
	if err != nil {
		return fmt.Errorf("split: spooling chunk: %w", err)
	}
	return nil
}

func (p *spool) open() (io.ReadCloser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone != nil {
		return nil, p.gone
	}
	if p.path != "" {
		f, err := os.Open(p.path)
		if err != nil {
			return nil, fmt.Errorf("split: opening spooled chunk: %w", err)
		}
		return f, nil
	}
	rs := make([]io.Reader, len(p.pieces))
	for i, piece := range p.pieces {
		rs[i] = bytes.NewReader(piece)
	}
	return io.NopCloser(io.MultiReader(rs...)), nil
}

// free releases the spool's storage; later opens fail with why. It is
// idempotent and returns the error met removing the temp file, if any.
func (p *spool) free(why error) error {
	p.mu.Lock()
	if p.gone != nil {
		p.mu.Unlock()
		return nil
	}
	p.gone = why
	p.pieces = nil
	reserved := p.reserved
	p.reserved = 0
	var err error
	if p.file != nil {
		p.file.Close()
		p.file = nil
	}
	if p.path != "" {
		if e := os.Remove(p.path); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = fmt.Errorf("split: removing spooled chunk: %w", e)
		}
	}
	p.mu.Unlock()
	p.s.unreserve(reserved)
	p.s.mu.Lock()
	delete(p.s.live, p)
	p.s.mu.Unlock()
	return err
}
