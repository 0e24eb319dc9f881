package iox

import (
	"io"
	"sync"
)

// LockedWriter serializes the writes to an underlying writer, so that
// several goroutines can share one writer that is not safe for concurrent
// use (a *bytes.Buffer, a terminal) without interleaving within a Write.
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLockedWriter returns a LockedWriter writing to w.
func NewLockedWriter(w io.Writer) *LockedWriter {
	return &LockedWriter{w: w}
}

// Write writes p to the underlying writer while holding the lock, so each
// Write reaches it whole, never mixed with another.
func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// SameWriter reports whether a and b may be the same writer, so that
// writes to them must share one lock: true when a == b, and also when a
// and b have the same dynamic type but == cannot compare them (the
// comparison would panic), since they may then share what they write to.
// A nil writer is never the same as another, nor as itself: there is
// nothing to write to. Writers of different dynamic types are different.
func SameWriter(a, b io.Writer) (same bool) {
	if a == nil || b == nil {
		return false
	}
	defer func() {
		if recover() != nil { // same dynamic type, not comparable
			same = true
		}
	}()
	return a == b
}
