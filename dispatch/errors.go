package dispatch

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoHosts is returned by New for an empty host list.
var ErrNoHosts = errors.New("dispatch: no hosts")

// ChunkError reports a chunk that failed for good. Err is the last
// attempt's error (usually a *transport.ExitError naming the host, the
// command, the exit status and the tail of standard error) and is matched by
// errors.Is and errors.As.
type ChunkError struct {
	Chunk    int    // the chunk's index
	Host     string // the host of the last attempt
	Attempts int    // attempts made
	Err      error
}

func (e *ChunkError) Error() string {
	s := fmt.Sprintf("chunk %d", e.Chunk)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	msg := e.Err.Error()
	if !strings.Contains(msg, fmt.Sprintf("%q", e.Host)) {
		s += fmt.Sprintf(" on host %q", e.Host)
	}
	return s + ": " + msg
}

func (e *ChunkError) Unwrap() error { return e.Err }

// LostError reports a chunk lost more often than Options.MaxLost allows; Errs
// holds each lost attempt's error, each naming its host.
type LostError struct {
	Chunk int
	Errs  []error
}

func (e *LostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chunk %d lost %d times, giving up:", e.Chunk, len(e.Errs))
	for _, err := range e.Errs {
		b.WriteString("\n\t")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *LostError) Unwrap() []error { return e.Errs }

// HostsDownError reports a run that stopped because no host was left to run
// chunks. Errs maps each host to its last error.
type HostsDownError struct {
	Hosts []string
	Errs  map[string]error
}

func (e *HostsDownError) Error() string {
	var b strings.Builder
	b.WriteString("dispatch: every host is down:")
	for _, h := range e.Hosts {
		fmt.Fprintf(&b, "\n\t%s: %v", h, e.Errs[h])
	}
	return b.String()
}

func (e *HostsDownError) Unwrap() []error {
	out := make([]error, 0, len(e.Hosts))
	for _, h := range e.Hosts {
		if err := e.Errs[h]; err != nil {
			out = append(out, err)
		}
	}
	return out
}

// FailedChunksError reports every chunk that failed in a run with
// Halt.KeepGoing, in chunk order.
type FailedChunksError struct {
	Chunks []*ChunkError
	// Stopped is true when the run stopped early because Halt.Share was
	// exceeded.
	Stopped bool
}

func (e *FailedChunksError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d chunk(s) failed", len(e.Chunks))
	if e.Stopped {
		b.WriteString(" (stopped early: too large a share failed)")
	}
	b.WriteString(":")
	for _, c := range e.Chunks {
		b.WriteString("\n\t")
		b.WriteString(c.Error())
	}
	return b.String()
}

func (e *FailedChunksError) Unwrap() []error {
	out := make([]error, len(e.Chunks))
	for i, c := range e.Chunks {
		out[i] = c
	}
	return out
}
