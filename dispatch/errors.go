package dispatch

import (
	"errors"
	"fmt"
	"strings"

	"dproc/internal/errdef"
	"dproc/transport"
)

// ErrInvalid is wrapped by every error about an invalid argument or option:
// a nil transport or job, a bad host list, a negative count, Resume without
// a Journal, a job command that is neither Args nor Shell. It is the same
// value as the ErrInvalid of every other dproc package, so errors.Is
// agrees whichever one a caller tests.
var ErrInvalid = errdef.ErrInvalid

// ErrNoHosts is matched by the error New returns for an empty host list,
// and RetireHost's for the last host. It is the same value as the other
// dproc packages' ErrNoHosts.
var ErrNoHosts = errdef.ErrNoHosts

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
	Chunk   int
	Command string // the job's command, as Job.Name or Job.String gives it
	Errs    []error
}

// Error names the chunk and the command, then each distinct error once,
// with how often it happened.
func (e *LostError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chunk %d", e.Chunk)
	if e.Command != "" {
		fmt.Fprintf(&b, " (command %q)", e.Command)
	}
	fmt.Fprintf(&b, " lost %d times, giving up:", len(e.Errs))
	var order []string
	count := map[string]int{}
	for _, err := range e.Errs {
		msg := err.Error()
		if count[msg] == 0 {
			order = append(order, msg)
		}
		count[msg]++
	}
	for _, msg := range order {
		b.WriteString("\n\t")
		b.WriteString(msg)
		if n := count[msg]; n > 1 {
			fmt.Fprintf(&b, " (%d times)", n)
		}
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
		err := e.Errs[h]
		if err != nil && transport.NamesHost(err, h) {
			fmt.Fprintf(&b, "\n\t%v", err)
		} else {
			fmt.Fprintf(&b, "\n\t%s: %v", h, err)
		}
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
	fmt.Fprintf(&b, "%d chunk(s) failed (%s)", len(e.Chunks), chunkList(e.Indexes(), 20))
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

// Indexes returns the failed chunks' indexes, in order.
func (e *FailedChunksError) Indexes() []int {
	out := make([]int, len(e.Chunks))
	for i, c := range e.Chunks {
		out[i] = c.Chunk
	}
	return out
}

// chunkList renders chunk indexes as "1, 4, 7", at most max of them.
func chunkList(idx []int, max int) string {
	var b strings.Builder
	for i, n := range idx {
		if i == max {
			fmt.Fprintf(&b, ", ... (%d more)", len(idx)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, n)
	}
	return b.String()
}

// ErrUnread is matched by an [*UnreadError].
var ErrUnread = errors.New("worker left input unread")

// UnreadError reports an attempt whose worker exited 0 without reading all
// of its chunk, under Options.RequireFullRead. errors.Is(err, ErrUnread)
// holds for it.
type UnreadError struct {
	Host    string
	Command string // Job.Name, or the command as Job.String renders it
	Read    int64  // bytes of the chunk the worker took
	Size    int64  // the chunk's size
}

func (e *UnreadError) Error() string {
	return fmt.Sprintf("host %q: command %q exited 0 but read only %d of its %d input bytes (%d unread)",
		e.Host, e.Command, e.Read, e.Size, e.Size-e.Read)
}

// Is reports whether target is [ErrUnread].
func (e *UnreadError) Is(target error) bool { return target == ErrUnread }
