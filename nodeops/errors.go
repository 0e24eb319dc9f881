package nodeops

import (
	"errors"
	"fmt"
	"path"

	"dproc/transport"
)

// ErrDangerousDelete is wrapped by the error of a host on which [Sync] refused
// a deleting sync ([SyncOptions.Delete]) because the destination is, on that
// host, the home directory itself, "/", or a directory that holds the home
// directory (such as "/home"), however it is spelled: "", ".", "./", "~",
// "~/", the home's absolute path, or a symbolic link that leads there. The
// error names the host and the destination as given; nothing on the host was
// changed. [SyncOptions.AllowDangerousDelete] lifts the refusal.
var ErrDangerousDelete = errors.New("refusing to delete there (SyncOptions.AllowDangerousDelete allows it)")

func errInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", transport.ErrInvalid, fmt.Sprintf(format, args...))
}

// nilTransport is the error of every function of this package given a nil
// Transport: it matches [transport.ErrInvalid], and names the operation
// and the host once, as the other errors do.
func nilTransport(op, host string) error {
	return &transport.OpError{Op: op, Host: host, Err: errInvalid("nil Transport")}
}

// homeRel is [transport.HomeRel]: a leading "~" read as scp and rsync read
// it, "~user" refused.
func homeRel(p string) (string, error) { return transport.HomeRel(p) }

func joinPath(dir, p string) string {
	if dir == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(dir, p)
}

// withHost wraps err, from operation op on host, so that the host is named
// once: with "op: " alone when err already names host (a
// [transport.OpError] or a [transport.ExitError] for it, as every transport
// error is, or an error of this package that names it), and as a
// [transport.OpError] naming host otherwise.
func withHost(op, host string, err error) error {
	if mentionsHost(err, host) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &transport.OpError{Op: op, Host: host, Err: err}
}

// mentionsHost reports whether err's text names host already.
func mentionsHost(err error, host string) bool {
	if transport.NamesHost(err, host) {
		return true
	}
	for err != nil {
		switch e := err.(type) {
		case *hostNamed:
			if e.host == host {
				return true
			}
		case *notDirError:
			if e.host == host {
				return true
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if mentionsHost(e, host) {
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

// hostNamed is an error whose text already names host.
type hostNamed struct {
	host string
	msg  string
	err  error // the sentinel it matches
}

func (e *hostNamed) Error() string { return e.msg }
func (e *hostNamed) Unwrap() error { return e.err }

// notDirError is the error of a listing (or sync) whose dir is not a
// directory: its text is msg alone, and it matches [transport.ErrNotDir] and the
// failed command's [*transport.ExitError] (the script's text and status
// say nothing more).
type notDirError struct {
	msg   string
	host  string // the host msg names, or ""
	cause error  // the listing's *ExitError, or nil
}

func (e *notDirError) Error() string { return e.msg }

func (e *notDirError) Unwrap() []error {
	if e.cause == nil {
		return []error{transport.ErrNotDir}
	}
	return []error{transport.ErrNotDir, e.cause}
}
