package fold

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// MaxLine bounds what a LineWriter holds while it waits for a newline. A
// longer line is written in pieces of MaxLine bytes, each ended with a
// newline and prefixed like a line of its own.
const MaxLine = 64 * 1024

// ErrClosed is returned by a LineWriter's Write after its Close.
var ErrClosed = errors.New("fold: write after close")

// Prefixer writes the lines of many hosts' streams to one writer, each
// line whole and prefixed with its host: "node1: line". Lines of different
// hosts interleave as they arrive; no line is ever cut by another's. Make
// one Prefixer per destination (one for stdout, one for stderr).
//
// After the destination fails once, every later write fails with that
// error, so that nothing is written after a lost line.
type Prefixer struct {
	mu  sync.Mutex
	w   io.Writer
	sep string
	err error
}

// NewPrefixer returns a Prefixer writing to w, with sep between host and
// line: ": " is the pdsh and clush form, "\t" GNU parallel's --tag.
func NewPrefixer(w io.Writer, sep string) *Prefixer {
	return &Prefixer{w: w, sep: sep}
}

// write writes b, whole lines only, in one Write call.
func (p *Prefixer) write(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if _, err := p.w.Write(b); err != nil {
		p.err = err
		return err
	}
	return nil
}

// Writer returns the writer for host's stream. It is not safe for
// concurrent use by several goroutines (one stream has one writer);
// different hosts' writers are.
func (p *Prefixer) Writer(host string) *LineWriter {
	return &LineWriter{p: p, prefix: []byte(host + p.sep)}
}

// LineWriter is one host's stream into a Prefixer. It holds a partial
// line until its newline comes, or until Close.
type LineWriter struct {
	p      *Prefixer
	prefix []byte
	buf    []byte // the partial line
	out    bytes.Buffer
	closed bool
}

// Write writes b's complete lines, prefixed, and keeps its partial last
// line for later. It returns len(b) unless the destination failed.
func (l *LineWriter) Write(b []byte) (int, error) {
	if l.closed {
		return 0, ErrClosed
	}
	l.out.Reset()
	rest := b
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			room := MaxLine - len(l.buf)
			if len(rest) < room {
				l.buf = append(l.buf, rest...)
				break
			}
			// A line too long to hold: write MaxLine bytes of it as a line.
			l.line(append(l.buf, rest[:room]...))
			l.buf = l.buf[:0]
			rest = rest[room:]
			continue
		}
		if len(l.buf)+i > MaxLine {
			room := MaxLine - len(l.buf)
			l.line(append(l.buf, rest[:room]...))
			l.buf = l.buf[:0]
			rest = rest[room:]
			continue
		}
		l.line(append(l.buf, rest[:i]...))
		l.buf = l.buf[:0]
		rest = rest[i+1:]
	}
	if l.out.Len() > 0 {
		if err := l.p.write(l.out.Bytes()); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (l *LineWriter) line(text []byte) {
	l.out.Write(l.prefix)
	l.out.Write(text)
	l.out.WriteByte('\n')
}

// Close writes a partial last line, ending it with a newline so that the
// next host's line starts on a line of its own. Closing twice is a no-op.
func (l *LineWriter) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	if len(l.buf) == 0 {
		return nil
	}
	l.out.Reset()
	l.line(l.buf)
	l.buf = nil
	return l.p.write(l.out.Bytes())
}
