package transport

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Transport runs commands on hosts and moves files to and from them.
//
// A Transport must be safe for concurrent use by multiple goroutines, for the
// same host and for different hosts. It owns whatever connections it opens and
// releases them in Close.
//
// Every method that blocks takes a context first. If ctx is cancelled or its
// deadline passes, the method must stop promptly, stop whatever it started on
// the host (a running command is killed there, not just abandoned), and return
// an error for which errors.Is(err, ctx.Err()) holds.
//
// Every Transport keeps the rules below, and
// [dproc/transport/transporttest.RunConformanceTests] checks each of them
// with a test of the same name (R1UnknownHost, R2Pinger, ...), so that the
// transports of this module and any other behave alike.
//
// R1, unknown host. Every method (Run, Put, Get, and each optional
// capability the Transport has: [Pinger], [Remover], [Checksummer], [Tree],
// [Locator]) fails for a host the Transport does not know with an error
// matching [ErrUnknownHost]. That error never matches [ErrLost] and
// [IsLost] is false for it: running the work on another host does not make
// the name known.
//
// R2, Pinger: see [Pinger].
//
// R3, lost or failed. For every error any method returns,
// errors.Is(err, [ErrLost]) == [IsLost](err): no error both matches ErrLost
// and holds an [*ExitError]. A transport that takes a command's non-zero
// exit as a sign that the host is unusable reports the host lost with [Lost],
// which keeps the exit status in the text and drops the ExitError.
//
// R4, standard input: see Run. When the command exits by itself, Run has
// finished with cmd.Stdin before it returns.
//
// R5, Close. Close cancels the calls in flight and waits for them to return
// before it returns itself; after Close every method, optional ones
// included, fails with an error matching [ErrClosed], and so do the calls
// Close stopped. Close may be called more than once; later calls return nil.
//
// R6, checksums: see [Checksummer] and [Checksums].
//
// R7, trees: see [Tree]; transporttest.RunTreeTests checks a Tree.
//
// R8, wrappers. A Transport that wraps another (to count, log, limit or
// inject faults) and means the wrapped transport's optional capabilities to
// stay usable exposes it with a method Unwrap() Transport (see [Wrapper]).
// The helpers of this package and of the node operations find an optional
// interface on the Transport they are given and then along its Unwrap
// chain, as net/http's ResponseController finds the optional methods of a
// ResponseWriter ([Capability] does the walk). A capability found that way
// is called on the wrapped transport, past the wrapper. A wrapper without
// Unwrap hides the capabilities, and the helpers fall back to doing the
// same work with Run, Put and Get, through the wrapper.
//
// R9, exit status. A command that ran and exited non-zero makes Run return
// an [*OpError] with Op "run" and the host, wrapping an [*ExitError] with
// Host, Command (as [Command.String] renders it), Code and Signal set (a
// command killed by signal n has Code 128+n and Signal its name). The
// message is the ExitError's, which names the host once.
//
// R10, paths. Relative paths (in Put, Get, [Command].Dir, Remove, Checksum
// and the Tree methods) are relative to the host's home directory. A leading
// "~" is read as scp and rsync read it: "~" and "~/" are the home directory
// and "~/x" is its entry x, never an entry literally named "~"; "~user"
// (another user's home) is refused with an error matching [ErrInvalid]
// ([HomeRel] does the reading). A name inside a tree that starts with "~"
// is reached as "./~name".
//
// R11, leaks. A Transport leaves no goroutine behind once its calls have
// returned and it is closed; the tests of every transport in this module run
// under go.uber.org/goleak.
//
// R12, unread input. When [Command].Unread is set, Run stores in it how
// many bytes of Command.Stdin the command did not read, measured where the
// command reads, so input a pipe or a connection buffered for it still
// counts as unread: a command that read all of its input gives 0 and
// "head -c 10" on 100 KiB gives 100 KiB less 10. A transport that cannot
// tell stores -1. See Command.Unread. A command whose Command.InputSize is
// the length of its Stdin behaves exactly as it does without it (output,
// standard error, exit status, unread count), however the transport uses
// the size.
type Transport interface {
	// Run runs cmd on host and waits for it to finish.
	//
	// cmd.Stdin, when not nil, is copied to the command's standard input
	// and then closed (the command sees end of file); Run does not close
	// cmd.Stdin itself. cmd.Stdout and cmd.Stderr, when not nil, receive
	// the command's output as it arrives; both are drained concurrently,
	// so a command that fills one while the other is unread cannot
	// deadlock. Run returns only after all output has been written and
	// never writes to cmd.Stdout or cmd.Stderr once it has returned.
	//
	// R4: when the command exits by itself (whether or not it read all of
	// its input), Run has finished with cmd.Stdin before it returns: no
	// Read of cmd.Stdin is in progress or starts after Run returned, so
	// the caller may reuse or close the reader at once. Only when Run
	// returns early (ctx ended, the host was lost, Close) may one Read of
	// cmd.Stdin that was in progress complete after Run returned, as with
	// os/exec; no Read starts after that one.
	//
	// Run returns nil when the command exits with status 0. A non-zero
	// exit must be reported as R9 says: an [*ExitError] carrying the host,
	// the exit status and the tail of standard error (kept even when
	// cmd.Stderr is set), wrapped in an [*OpError]. A command that does not
	// exist exits with status 127. A command that could not be started for
	// a reason other than its absence, or whose host went away, must be
	// reported as an error for which errors.Is(err, [ErrLost]) holds, and
	// must not be reported as an [*ExitError].
	Run(ctx context.Context, host string, cmd *Command) error

	// Put writes the contents of r to path on host with permission bits
	// mode (0 means 0644). Missing parent directories are created. The
	// file is replaced atomically: a reader on the host sees either the
	// old file or the complete new one, never a partial file, and a Put
	// that fails leaves no file at path that was not there before. Put
	// reads r to EOF or until an error; it does not close r.
	Put(ctx context.Context, host, path string, r io.Reader, mode fs.FileMode) error

	// Get copies the file at path on host into w. A missing file must be
	// reported as an error for which errors.Is(err, fs.ErrNotExist)
	// holds. Get does not close w.
	Get(ctx context.Context, host, path string, w io.Writer) error

	// Close releases every resource the Transport holds, stops every
	// command it still runs and waits for the calls in flight to return
	// (R5).
	Close() error
}

// Command describes a program to run on a host. Exactly one of Args and
// Shell must be set.
//
// A Command is not modified by a Transport and may be reused once Run has
// returned; the Stdin, Stdout and Stderr it names must not be shared by
// concurrent runs.
type Command struct {
	// Args is the argument vector; Args[0] names the program, looked up in
	// the host's PATH unless it contains a slash. Each transport quotes
	// the vector for the host itself, so an argument is passed exactly as
	// given, whatever spaces, quotes, '$', ';' or newlines it holds.
	Args []string

	// Shell is a command line run by the host's POSIX shell (/bin/sh -c),
	// for pipelines and redirections. It is passed on unmodified: quoting
	// values inside it is the caller's job (see [Quote]).
	Shell string

	// Dir is the directory the command runs in. Empty, "~" and "~/" mean
	// the host's home directory; a relative path and "~/x" are resolved
	// against it (R10).
	Dir string

	// Env lists extra environment variables, each "KEY=VALUE", added to
	// the command's environment on the host.
	Env []string

	// Stdin, Stdout and Stderr are the command's standard streams. A nil
	// Stdin means empty input; nil Stdout or Stderr discards the stream.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Unread, when not nil, asks Run to measure how much of Stdin the
	// command left unread (R12). Run stores there the number of bytes of
	// Stdin the command had not read when it exited by itself, bytes left
	// in pipes or buffers on the way to it counting as unread, 0 when
	// Stdin is nil, or -1 when the transport cannot tell (and whenever
	// Run returns early: ctx ended, the host was lost, Close). To count,
	// Run reads the rest of Stdin to its end once the command has
	// exited, so a Stdin that never ends holds Run until ctx ends.
	Unread *int64

	// InputSize, when greater than zero, says that Stdin yields exactly
	// this many bytes (the size of a chunk, say). A transport may rely on
	// it to carry several commands, one after another, over one session
	// or connection, as the SSH transport does: it then reads exactly
	// InputSize bytes of Stdin, never more, and a Stdin that ends sooner
	// fails Run with an error that says so. Transports that copy Stdin to
	// its end may ignore it. Zero means unknown.
	InputSize int64
}

// String returns the command as a POSIX shell would read it, for error
// messages and logs: Args quoted with [Quote] and joined by spaces, or Shell
// as it is. Env values are not included, so secrets passed in the
// environment never reach an error text.
func (c *Command) String() string {
	if c == nil {
		return ""
	}
	if c.Shell != "" {
		return c.Shell
	}
	return QuoteArgs(c.Args)
}

// Validate reports whether c can be run: exactly one of Args and Shell set,
// every Env entry of the form KEY=VALUE with a valid name, and no NUL byte
// in Args, Shell, Env or Dir (no program's arguments, environment or path
// can carry one, so a command holding one could only run cut short).
func (c *Command) Validate() error {
	switch {
	case c == nil:
		return errInvalid("nil command")
	case len(c.Args) == 0 && c.Shell == "":
		return errInvalid("command has neither Args nor Shell")
	case len(c.Args) > 0 && c.Shell != "":
		return errInvalid("command has both Args and Shell")
	case len(c.Args) > 0 && c.Args[0] == "":
		return errInvalid("command has an empty program name")
	case c.InputSize < 0:
		return errInvalid("command has a negative InputSize")
	}
	for _, kv := range c.Env {
		if !validEnv(kv) {
			return errInvalid("bad environment entry (want KEY=VALUE with KEY of letters, digits and '_')")
		}
	}
	if nul(c.Shell) || nul(c.Dir) || slices.ContainsFunc(c.Args, nul) || slices.ContainsFunc(c.Env, nul) {
		return errInvalid("command holds a NUL byte")
	}
	return nil
}

func nul(s string) bool { return strings.IndexByte(s, 0) >= 0 }

func validEnv(kv string) bool {
	for i := 0; i < len(kv); i++ {
		c := kv[i]
		switch {
		case c == '=':
			return i > 0
		case c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return false
}

// Pinger is implemented by transports that can check that a host is
// reachable more cheaply than by running a command. When a Transport does not
// implement it, [Ping] runs "true" on the host instead.
//
// R2: Ping returns nil when the host answers now. A host that cannot be
// reached, dropped the connection or went away gives an error matching
// [ErrLost]. A refusal is not lost, because trying again does not help: an
// unknown host ([ErrUnknownHost]), a refused host key, a failed
// authentication, an invalid request ([ErrInvalid]) and a closed Transport
// ([ErrClosed]) give errors that do not match ErrLost. Ping never returns an
// error that holds an [*ExitError] inside a lost error (see [Lost]).
type Pinger interface {
	Ping(ctx context.Context, host string) error
}

// Remover is implemented by transports that can remove files without running
// a command. Remove deletes the file at path on host; a missing file is not an
// error. When a Transport does not implement it, [Remove] runs "rm -f".
type Remover interface {
	Remove(ctx context.Context, host, path string) error
}

// Checksummer is implemented by transports that can hash files on the host
// in one round trip. Checksum returns the lowercase hex SHA-256 digest of
// each file in paths, in order, with "" for a file that does not exist; any
// other file it cannot read is an error.
//
// R6: callers use [Checksums], which finds a Checksummer as [Capability]
// does and, when there is none, runs "sha256sum -- PATHS" on the host and,
// when the host has no sha256sum, fetches the files with Get and hashes them
// locally. Whatever the path taken, Checksums reports a missing file with an
// error matching [fs.ErrNotExist].
type Checksummer interface {
	Checksum(ctx context.Context, host string, paths []string) ([]string, error)
}

// Wrapper is implemented by a Transport that wraps another one and lets the
// helpers reach the optional capabilities of the wrapped transport (R8).
// Unwrap returns the wrapped Transport, or nil when there is none.
type Wrapper interface {
	Transport
	Unwrap() Transport
}

// maxUnwrap bounds the walk of an Unwrap chain, so that a chain that loops
// ends.
const maxUnwrap = 100

// Capability returns the first Transport of t's chain that implements the
// optional interface T (such as [Pinger], [Remover], [Checksummer], [Tree]
// or [Locator]): t itself, then t.Unwrap() when t is a [Wrapper], and so on
// (R8). ok is false when no Transport of the chain implements T.
func Capability[T any](t Transport) (c T, ok bool) {
	for range maxUnwrap {
		if t == nil {
			break
		}
		if c, ok = any(t).(T); ok {
			return c, true
		}
		w, isWrapper := t.(interface{ Unwrap() Transport })
		if !isWrapper {
			break
		}
		t = w.Unwrap()
	}
	var zero T
	return zero, false
}

// HomeRel returns p with a leading "~" read as scp and rsync read it (R10):
// "~" and "~/" become "" (the home directory itself) and "~/x" becomes "x",
// relative paths being resolved against the home directory. Any other p is
// returned as it is, except that "~user" forms (another user's home) are
// refused with an error matching [ErrInvalid]: a transport cannot tell where
// that is, and an entry literally named "~user" is written "./~user".
func HomeRel(p string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	if p == "~" {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return strings.TrimLeft(rest, "/"), nil
	}
	return p, fmt.Errorf("%w: path %q names another user's home directory, which is not supported", ErrInvalid, p)
}
