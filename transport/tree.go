package transport

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"time"
)

// Entry describes one file, directory or symbolic link under a directory on
// a host, as [Tree.ListTree] reports it.
type Entry struct {
	// Path is slash-separated and relative to the listed directory; it is
	// never empty, ".", absolute or holding a ".." element.
	Path string
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink, ...) and the
	// permission bits, setuid, setgid and sticky included.
	Mode fs.FileMode
	// Size is the length in bytes of a regular file (what the host reports
	// for other types).
	Size int64
	// ModTime is the modification time of the entry itself (of the link,
	// not its target, for a symbolic link).
	ModTime time.Time
	// Target is the target of a symbolic link, as stored in the link.
	Target string
	// Sum is the lowercase hex SHA-256 of a regular file's content when
	// sums were asked for, and "" otherwise.
	Sum string
}

// TreeOpKind names what a [TreeOp] does.
type TreeOpKind int

// The kinds of [TreeOp]. Each acts on Path, relative to the directory given
// to [Tree.ApplyTree], and never follows a symbolic link at Path itself (the
// parents of Path are resolved as the host resolves them: a caller that does
// not trust them replaces them first with OpMkdir).
const (
	// OpMkdir makes Path a directory with permissions Mode: an existing
	// directory is kept (and given Mode); anything else at Path, a
	// symbolic link included, is removed first.
	OpMkdir TreeOpKind = iota + 1
	// OpChmod sets the permissions of Path to Mode (setuid, setgid and
	// sticky included). A symbolic link is left alone.
	OpChmod
	// OpChtimes sets the modification (and access) time of Path to
	// ModTime, of the link itself for a symbolic link.
	OpChtimes
	// OpSymlink makes Path a symbolic link to Target, replacing whatever
	// is there atomically (a directory is removed first).
	OpSymlink
	// OpRemoveAll removes Path and everything under it; a missing Path is
	// not an error.
	OpRemoveAll
)

func (k TreeOpKind) String() string {
	switch k {
	case OpMkdir:
		return "mkdir"
	case OpChmod:
		return "chmod"
	case OpChtimes:
		return "chtimes"
	case OpSymlink:
		return "symlink"
	case OpRemoveAll:
		return "removeall"
	}
	return "TreeOpKind(" + strconv.Itoa(int(k)) + ")"
}

// TreeOp is one change [Tree.ApplyTree] makes under a directory.
type TreeOp struct {
	Kind TreeOpKind
	// Path is slash-separated and relative to the directory; it must be
	// clean and hold no ".." element. "." (the directory itself) is
	// allowed for OpChmod and OpChtimes only.
	Path string
	// Mode is the permissions for OpMkdir and OpChmod (type bits are
	// ignored).
	Mode fs.FileMode
	// ModTime is the time for OpChtimes.
	ModTime time.Time
	// Target is the link target for OpSymlink; it must not be empty.
	Target string
}

// Tree is implemented by transports that can list and change a directory
// tree on a host natively. The node operations of [dproc/nodeops]
// (ListTree, ApplyTree, Sync, Install) use it when a Transport has it, and
// otherwise fall back to running POSIX sh with GNU find, coreutils and
// sha256sum on the host, one command per call (nodeops.ShellTree).
//
// Both methods must be safe for concurrent use, honour ctx as the
// [Transport] methods do, and return an error for which errors.Is(err,
// [ErrClosed]) holds after Close. A relative dir is resolved against the
// host's home directory; an empty dir is the home directory itself. The
// callers in nodeops have already read a leading "~" (see the package doc
// on paths), so dir never starts with "~/".
type Tree interface {
	// ListTree lists every entry under dir on host, recursively, in any
	// order, without dir itself and without following symbolic links
	// (a link to a directory is listed as a link, and nothing under it).
	// When sums is true, every regular file's Entry.Sum is filled in. A
	// dir that does not exist is an empty list and a nil error; a dir
	// that exists and is not a directory (nor a link to one) is an error
	// for which errors.Is(err, [ErrNotDir]) holds.
	ListTree(ctx context.Context, host, dir string, sums bool) ([]Entry, error)

	// ApplyTree creates dir (and its parents) if it does not exist, then
	// applies ops under it in order, stopping at the first that fails.
	// The ops have been checked by the caller (nodeops.ApplyTree does it).
	ApplyTree(ctx context.Context, host, dir string, ops []TreeOp) error
}

// ErrNotDir is wrapped by errors about a directory argument (the dir of
// [Tree.ListTree], the destination of nodeops.Sync) that names something on the
// host other than a directory or a symbolic link to one.
var ErrNotDir = errors.New("not a directory")

// Location says what a path names on a host, as [Locator.Locate] reports it.
type Location struct {
	// Home is the host's home directory, where a command with an empty
	// [Command.Dir] starts: absolute, with every symbolic link resolved.
	Home string
	// Exists is true when something is at the path (a dangling symbolic
	// link counts).
	Exists bool
	// Type is what the path names once symbolic links are followed,
	// meaningful when Exists: fs.ModeDir for a directory, 0 for a regular
	// file, fs.ModeSymlink for a link that leads nowhere (dangling, or a
	// loop), fs.ModeIrregular for anything else (a device, a socket, a
	// named pipe).
	Type fs.FileMode
	// Dir is the directory, absolute with every symbolic link resolved,
	// when Type is fs.ModeDir; "" otherwise.
	Dir string
}

// IsDir reports whether the path is a directory (or a link to one).
func (l Location) IsDir() bool { return l.Exists && l.Type == fs.ModeDir }

// Locator is implemented by transports that can tell natively where a path
// leads on a host, following symbolic links as the host does. nodeops.Locate
// (and a deleting nodeops.Sync) uses it when a Transport has it, and
// otherwise runs one POSIX sh command on the host. Locate must be safe for concurrent
// use, honour ctx as the [Transport] methods do, and return an error for
// which errors.Is(err, [ErrClosed]) holds after Close. A relative dir is
// resolved against the home directory, an empty dir is the home directory,
// and a missing path is a Location with Exists false and a nil error.
type Locator interface {
	Locate(ctx context.Context, host, dir string) (Location, error)
}
