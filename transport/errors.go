package transport

import (
	"errors"
	"fmt"
	"strings"

	"dproc/internal/errdef"
)

var (
	// ErrClosed is returned by every method of a Transport after Close.
	ErrClosed = errors.New("transport: closed")

	// ErrLost means the command never ran to completion because its host
	// could not be reached, went away or dropped the connection, or
	// because no exit status arrived. The work is safe to run again on
	// another host. A Transport must not report ErrLost when the command
	// ran and exited: that is an [*ExitError].
	ErrLost = errors.New("host lost")

	// ErrFailed matches every [*ExitError]: the command ran and exited
	// non-zero.
	ErrFailed = errors.New("command failed")

	// ErrCommandNotFound matches an [*ExitError] with status 127: the
	// program named by the command does not exist on the host.
	ErrCommandNotFound = errors.New("command not found")

	// ErrInvalid is wrapped by errors about a malformed request, such as a
	// [Command] with neither Args nor Shell, an empty host name or a path
	// naming another user's home ("~user"). It is the value every dproc
	// package wraps for an invalid argument, so errors.Is(err,
	// transport.ErrInvalid) also matches the invalid-argument errors of
	// split, gather, dispatch and the others.
	ErrInvalid = errdef.ErrInvalid

	// ErrUnknownHost is wrapped by errors about a host the transport does
	// not know (an unknown name or alias). It is not a [ErrLost] error:
	// running the work elsewhere does not make the host known.
	ErrUnknownHost = errors.New("unknown host")
)

// TailSize is how many bytes of a command's standard error an [*ExitError]
// keeps: the end of the stream, where the reason for a failure usually is.
const TailSize = 4096

// ExitError reports a command that ran on a host and exited with a non-zero
// status, shaped like [os/exec.ExitError].
type ExitError struct {
	Host    string // the host the command ran on
	Command string // the command, as [Command.String] renders it
	Code    int    // exit status; 128+n when killed by signal n, or -1 if unknown
	Signal  string // the signal that killed the command, if any ("KILL", "TERM", ...)
	Stderr  []byte // the last [TailSize] bytes of standard error at most
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("host %q: %s", e.Host, e.what())
}

// what is the message of e without the host: the command, how it ended and
// the end of its standard error.
func (e *ExitError) what() string {
	var b strings.Builder
	fmt.Fprintf(&b, "command %q ", truncate(e.Command, 200))
	if e.Signal != "" {
		fmt.Fprintf(&b, "killed by signal %s", e.Signal)
	} else {
		fmt.Fprintf(&b, "exited with status %d", e.Code)
	}
	if tail := strings.TrimSpace(string(e.Stderr)); tail != "" {
		fmt.Fprintf(&b, "; stderr: %s", truncate(lastLines(tail, 5), 1000))
	}
	return b.String()
}

// Is reports whether target is [ErrFailed], or [ErrCommandNotFound] for exit
// status 127.
func (e *ExitError) Is(target error) bool {
	return target == ErrFailed || (target == ErrCommandNotFound && e.Code == 127)
}

// OpError wraps an error from one operation on one host with both names. Its
// Err is never nil and is matched by errors.Is and errors.As through Unwrap.
type OpError struct {
	Op   string // "run", "put", "get", "remove", "dial", ...
	Host string
	Path string // the file for put, get and remove; empty otherwise
	Err  error
}

// Error names the operation, the host and the path once. When Err already
// names the same host (an [*ExitError] or an OpError on that host, possibly
// wrapped), the host is not repeated: a run that exited non-zero reads as the
// ExitError alone ("host "n1": command "work" exited with status 3"), and
// nested operations on one host read as
// "install on host "n1": run: unknown host".
func (e *OpError) Error() string {
	if e.Host != "" && e.Op == "run" && e.Path == "" {
		if ee, ok := e.Err.(*ExitError); ok && ee.Host == e.Host {
			return ee.Error()
		}
	}
	s := e.Op
	inner := e.Err.Error()
	if e.Host != "" {
		switch {
		case namesHost(e.Err, e.Host):
			if child, ok := e.Err.(*OpError); ok && child.Host == e.Host && !namesHost(child.Err, e.Host) {
				// Say the host here, once, and drop it from the
				// inner operation.
				s += fmt.Sprintf(" on host %q", e.Host)
				c := *child
				c.Host = ""
				inner = c.Error()
			}
		default:
			s += fmt.Sprintf(" on host %q", e.Host)
		}
	}
	if e.Path != "" {
		s += " " + fmt.Sprintf("%q", e.Path)
	}
	return s + ": " + inner
}

// namesHost reports whether err's message already names host: it holds an
// [*ExitError] or an [*OpError] for host somewhere in its chain.
func namesHost(err error, host string) bool {
	for err != nil {
		switch e := err.(type) {
		case *ExitError:
			if e.Host == host {
				return true
			}
		case *OpError:
			if e.Host == host {
				return true
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if namesHost(x, host) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// NamesHost reports whether err's message already names host, because err
// holds an [*ExitError] or an [*OpError] for host somewhere in its chain.
// Code that adds context to an error uses it to name a host once.
func NamesHost(err error, host string) bool { return namesHost(err, host) }

func (e *OpError) Unwrap() error { return e.Err }

// Lost returns an error that means the host was lost because of cause:
// errors.Is matches [ErrLost] and whatever cause matches, and [IsLost] is
// true. A nil cause gives ErrLost itself, and a cause that already matches
// ErrLost is returned as it is (a lost error is not wrapped twice).
//
// When cause holds an [*ExitError] (a probe command that ran and exited
// non-zero, taken as a sign that the host is unusable), the result keeps
// cause's text, exit status included, but does not wrap cause: an error is
// either lost or a failed command, never both, so that
// errors.Is(err, ErrLost) and IsLost(err) agree on it.
func Lost(cause error) error {
	if cause == nil {
		return ErrLost
	}
	var ee *ExitError
	if errors.As(cause, &ee) {
		return &lostError{msg: cause.Error()}
	}
	if errors.Is(cause, ErrLost) {
		return cause
	}
	return &lostError{cause: cause, msg: cause.Error()}
}

// lostError is what [Lost] returns. cause is nil when the cause was an
// [*ExitError], whose text alone is kept in msg.
type lostError struct {
	cause error
	msg   string
}

func (e *lostError) Error() string { return "host lost: " + e.msg }

func (e *lostError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrLost}
	}
	return []error{ErrLost, e.cause}
}

// IsLost reports whether err means the work never completed through no fault
// of its own and may run again elsewhere: it matches [ErrLost] and is not an
// [*ExitError]. For every error a conforming Transport returns, IsLost(err)
// and errors.Is(err, ErrLost) agree, because no such error is both (see
// [Lost]); IsLost stays the safe test for errors built elsewhere.
func IsLost(err error) bool {
	var ee *ExitError
	return errors.Is(err, ErrLost) && !errors.As(err, &ee)
}

func errInvalid(msg string) error { return fmt.Errorf("%w: %s", ErrInvalid, msg) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Tail is an io.Writer that keeps the last N bytes written to it (N =
// [TailSize] for the zero value). Transports use it to fill
// [ExitError.Stderr]. It is not safe for concurrent use.
type Tail struct {
	N   int
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	n := t.N
	if n <= 0 {
		n = TailSize
	}
	written := len(p)
	if len(p) >= n {
		t.buf = append(t.buf[:0], p[len(p)-n:]...)
		return written, nil
	}
	if over := len(t.buf) + len(p) - n; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return written, nil
}

// Bytes returns a copy of the bytes kept.
func (t *Tail) Bytes() []byte { return append([]byte(nil), t.buf...) }
