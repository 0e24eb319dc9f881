package gather

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Buffer sizes. An output's first buffer is small so that many tiny
// outputs (one line each) do not each pin a large block; later buffers
// are large so that big outputs are few writes.
const (
	smallBlock = 4 << 10
	bigBlock   = 64 << 10
)

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallBlock); return &b }}
	bigPool   = sync.Pool{New: func() any { b := make([]byte, bigBlock); return &b }}
)

func getBlock(size int) *[]byte {
	if size == smallBlock {
		return smallPool.Get().(*[]byte)
	}
	return bigPool.Get().(*[]byte)
}

func putBlock(b *[]byte) {
	if cap(*b) == smallBlock {
		*b = (*b)[:smallBlock]
		smallPool.Put(b)
		return
	}
	*b = (*b)[:bigBlock]
	bigPool.Put(b)
}

// budget is the memory shared by every spool of one gatherer.
type budget struct {
	limit   int64
	used    atomic.Int64
	tempDir string
	spills  atomic.Int64 // spill files created, for tests
}

func newBudget(opts *Options) *budget {
	return &budget{limit: opts.memoryBudget(), tempDir: opts.tempDir()}
}

// reserve takes n bytes of budget, or reports that they are not there.
func (b *budget) reserve(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) release(n int64) { b.used.Add(-n) }

// spool holds one attempt's bytes: in pooled blocks while the budget
// allows, then in a temporary file. It is written by one goroutine, then
// sealed, then read (possibly several times) and finally freed.
type spool struct {
	b      *budget
	blocks []*[]byte // all full except the last, which holds fill bytes
	fill   int
	size   int64
	held   int64 // budget reserved by blocks

	// Spilled state.
	path string
	f    *os.File
	wbuf *[]byte
	wn   int
	err  error // sticky write error
}

func newSpool(b *budget) *spool { return &spool{b: b} }

func (s *spool) spilled() bool { return s.path != "" }

// Write copies p into the spool.
func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	for len(p) > 0 {
		if s.spilled() {
			if err := s.fileWrite(p); err != nil {
				s.err = err
				return n - len(p), err
			}
			s.size += int64(len(p))
			return n, nil
		}
		if len(s.blocks) == 0 || s.fill == len(*s.blocks[len(s.blocks)-1]) {
			size := bigBlock
			if len(s.blocks) == 0 {
				size = smallBlock
			}
			if !s.b.reserve(int64(size)) {
				if err := s.spill(); err != nil {
					s.err = err
					return n - len(p), err
				}
				continue
			}
			s.held += int64(size)
			s.blocks = append(s.blocks, getBlock(size))
			s.fill = 0
		}
		c := copy((*s.blocks[len(s.blocks)-1])[s.fill:], p)
		s.fill += c
		s.size += int64(c)
		p = p[c:]
	}
	return n, nil
}

// spill moves the spool's bytes to a new temporary file.
func (s *spool) spill() error {
	f, err := os.CreateTemp(s.b.tempDir, "dproc-gather-*.spill")
	if err != nil {
		return fmt.Errorf("gather: spilling output: %w", err)
	}
	s.f, s.path = f, f.Name()
	s.b.spills.Add(1)
	for i, blk := range s.blocks {
		data := *blk
		if i == len(s.blocks)-1 {
			data = data[:s.fill]
		}
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("gather: spilling output: %w", err)
		}
	}
	s.freeBlocks()
	s.wbuf = getBlock(bigBlock)
	return nil
}

func (s *spool) fileWrite(p []byte) error {
	buf := *s.wbuf
	if s.wn == 0 && len(p) >= len(buf) {
		_, err := s.f.Write(p)
		return err
	}
	for len(p) > 0 {
		c := copy(buf[s.wn:], p)
		s.wn += c
		p = p[c:]
		if s.wn == len(buf) {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *spool) flush() error {
	if s.wn == 0 {
		return nil
	}
	_, err := s.f.Write((*s.wbuf)[:s.wn])
	s.wn = 0
	return err
}

// seal ends writing: a spill file is flushed and closed, so that a held
// output does not hold a file descriptor.
func (s *spool) seal() error {
	if s.err != nil {
		return s.err
	}
	if !s.spilled() || s.f == nil {
		return nil
	}
	err := s.flush()
	putBlock(s.wbuf)
	s.wbuf = nil
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		s.err = fmt.Errorf("gather: spilling output: %w", err)
	}
	return s.err
}

// writeTo writes the sealed spool's bytes to w.
func (s *spool) writeTo(w io.Writer) error {
	if s.spilled() {
		f, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("gather: reading spill file: %w", err)
		}
		defer f.Close()
		// io.Copy lets *os.File use copy_file_range or sendfile.
		_, err = io.Copy(w, f)
		return err
	}
	for i, blk := range s.blocks {
		data := *blk
		if i == len(s.blocks)-1 {
			data = data[:s.fill]
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// open returns a reader of the sealed spool's bytes.
func (s *spool) open() (io.ReadCloser, error) {
	if s.spilled() {
		f, err := os.Open(s.path)
		if err != nil {
			return nil, fmt.Errorf("gather: reading spill file: %w", err)
		}
		return f, nil
	}
	return &blockReader{s: s}, nil
}

func (s *spool) freeBlocks() {
	for _, blk := range s.blocks {
		putBlock(blk)
	}
	s.blocks = nil
	s.fill = 0
	s.b.release(s.held)
	s.held = 0
}

// free releases the spool's memory and removes its spill file. It may be
// called more than once.
func (s *spool) free() error {
	s.freeBlocks()
	var err error
	if s.f != nil {
		err = s.f.Close()
		s.f = nil
	}
	if s.wbuf != nil {
		putBlock(s.wbuf)
		s.wbuf = nil
	}
	if s.path != "" {
		if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		s.path = ""
	}
	return err
}

// blockReader reads an in-memory spool.
type blockReader struct {
	s   *spool
	i   int
	off int
}

func (r *blockReader) Read(p []byte) (int, error) {
	for r.i < len(r.s.blocks) {
		data := *r.s.blocks[r.i]
		if r.i == len(r.s.blocks)-1 {
			data = data[:r.s.fill]
		}
		if r.off < len(data) {
			n := copy(p, data[r.off:])
			r.off += n
			return n, nil
		}
		r.i++
		r.off = 0
	}
	return 0, io.EOF
}

func (r *blockReader) Close() error { return nil }

// lineReader splits a reader into lines of any length.
type lineReader struct {
	br   *bufio.Reader
	long []byte
	line int // number of the line last returned, from 1
	eof  bool
}

func newLineReader(r io.Reader, size int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, size)}
}

// next returns the next line without its newline. The slice is valid
// until the next call. At the end it returns io.EOF.
func (l *lineReader) next() ([]byte, error) {
	if l.eof {
		return nil, io.EOF
	}
	line, err := l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = l.br.ReadSlice('\n')
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	switch {
	case err == io.EOF:
		l.eof = true
		if len(line) == 0 {
			return nil, io.EOF
		}
	case err != nil:
		return nil, err
	}
	l.line++
	return bytes.TrimSuffix(line, []byte{'\n'}), nil
}
