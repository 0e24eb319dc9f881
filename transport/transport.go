package transport

import (
	"context"
	"io"
	"io/fs"
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
// After Close returns, every method must return an error for which
// errors.Is(err, [ErrClosed]) holds. Close may be called more than once.
//
// Use [dproc/transport/transporttest.RunConformanceTests] to verify an
// implementation.
type Transport interface {
	// Run runs cmd on host and waits for it to finish.
	//
	// cmd.Stdin, when not nil, is copied to the command's standard input
	// and then closed (the command sees end of file); Run does not close
	// cmd.Stdin itself. cmd.Stdout and cmd.Stderr, when not nil, receive
	// the command's output as it arrives; both are drained concurrently,
	// so a command that fills one while the other is unread cannot
	// deadlock. Run returns only after all output has been written and
	// never writes to cmd.Stdout or cmd.Stderr once it has returned. When
	// the command exits by itself, Run also finishes with cmd.Stdin before
	// it returns. When Run returns early (ctx ended, the host was lost,
	// Close), a Read of cmd.Stdin in progress may still complete after
	// Run returned, as with os/exec; no Read starts after that one.
	//
	// Run returns nil when the command exits with status 0. A non-zero
	// exit must be reported as an error for which errors.As finds an
	// [*ExitError] carrying the host, the exit status and the tail of
	// standard error (kept even when cmd.Stderr is set). A command that
	// does not exist exits with status 127. A command that could not be
	// started for a reason other than its absence, or whose host went away,
	// must be reported as an error for which errors.Is(err, [ErrLost])
	// holds, and must not be reported as an [*ExitError].
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

	// Close releases every resource the Transport holds and stops every
	// command it still runs.
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

	// Dir is the directory the command runs in. Empty means the host's
	// home directory; a relative path is resolved against it.
	Dir string

	// Env lists extra environment variables, each "KEY=VALUE", added to
	// the command's environment on the host.
	Env []string

	// Stdin, Stdout and Stderr are the command's standard streams. A nil
	// Stdin means empty input; nil Stdout or Stderr discards the stream.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
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
// and every Env entry of the form KEY=VALUE with a valid name.
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
	}
	for _, kv := range c.Env {
		if !validEnv(kv) {
			return errInvalid("bad environment entry (want KEY=VALUE with KEY of letters, digits and '_')")
		}
	}
	return nil
}

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
// reachable more cheaply than by running a command. Ping returns nil when the
// host can run commands now, and otherwise an error for which
// errors.Is(err, [ErrLost]) holds. When a Transport does not implement it,
// [Ping] runs "true" on the host instead.
type Pinger interface {
	Ping(ctx context.Context, host string) error
}

// Remover is implemented by transports that can remove files without running
// a command. Remove deletes the file at path on host; a missing file is not an
// error. When a Transport does not implement it, [Remove] runs "rm -f".
type Remover interface {
	Remove(ctx context.Context, host, path string) error
}

// Checksummer is implemented by transports that can hash files on the host.
// Checksum returns the lowercase hex SHA-256 digest of each file in paths, in
// order, with "" for a file that does not exist. When a Transport does not
// implement it, [Checksums] runs sha256sum on the host, and falls back to
// fetching the files when that fails.
type Checksummer interface {
	Checksum(ctx context.Context, host string, paths []string) ([]string, error)
}
