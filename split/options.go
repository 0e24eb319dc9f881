package split

import (
	"bytes"
	"errors"
	"fmt"

	"dproc/internal/errdef"
)

// Errors returned by the splitters of this package. Split and Chunk.Open
// wrap them, so test with errors.Is.
var (
	// ErrInvalid is wrapped by errors about a bad argument or option, such
	// as n < 1 for [Even] or an item that contains the separator. It is
	// the same value as the ErrInvalid of every other dproc package (such
	// as gather.ErrInvalid), so any of them matches with errors.Is.
	ErrInvalid = errdef.ErrInvalid
	// ErrClosed is returned by a [StreamSplitter] used after Close, and by
	// Open on a chunk whose storage Close removed.
	ErrClosed = errors.New("split: splitter closed")
	// ErrReleased is returned by Open on a chunk whose spooled storage was
	// freed by Release.
	ErrReleased = errors.New("split: chunk released")
)

// Defaults used when an [Options] field is left at its zero value.
const (
	// DefaultMemoryBudget is the default Options.MemoryBudget: 64 MiB.
	DefaultMemoryBudget = 64 << 20
)

// defaultSeparator is the default Options.Separator.
var defaultSeparator = []byte("\n")

// Options tune the splitters. A nil *Options means all defaults. The
// splitters copy the Options they are given, so the caller may reuse or
// change it afterwards.
type Options struct {
	// Separator ends each record. Any non-empty byte string works: "\n"
	// for lines, "\x00" for NUL-terminated names, "\r\n" for CRLF lines,
	// "\n\n" for paragraphs. Records are found by a scan from the start of
	// the input that takes the leftmost match and continues after it, as
	// bytes.Split does. Bytes are never changed: a "\r" before a "\n"
	// separator stays in the record. Default "\n".
	Separator []byte
	// Header makes the first record of the input a header that is copied
	// at the start of every chunk (a CSV header line, say). Chunk.Size
	// counts the header, Chunk.Offset and Chunk.Records do not. An input
	// that holds only a header yields no chunk. Default false.
	Header bool
	// MemoryBudget bounds the bytes a [StreamSplitter] keeps in memory for
	// chunks not yet released (and its header); beyond it chunks are
	// spooled to temp files. Zero means [DefaultMemoryBudget]; a negative
	// value spools every chunk to a file. Other splitters ignore it.
	MemoryBudget int64
	// TempDir is the directory where a [StreamSplitter] writes its spool
	// files. Empty means os.TempDir(). Other splitters ignore it.
	TempDir string
}

// config is a validated copy of Options.
type config struct {
	sep      []byte
	header   bool
	budget   int64
	tempDir  string
	bordered bool // sep can overlap itself, so matches cannot be found from an arbitrary offset
}

func newConfig(opts *Options) config {
	c := config{sep: defaultSeparator, budget: DefaultMemoryBudget}
	if opts == nil {
		return c
	}
	if opts.Separator != nil {
		c.sep = bytes.Clone(opts.Separator)
	}
	c.header = opts.Header
	if opts.MemoryBudget != 0 {
		c.budget = opts.MemoryBudget
	}
	c.tempDir = opts.TempDir
	c.bordered = hasBorder(c.sep)
	return c
}

func (c *config) validate() error {
	if len(c.sep) == 0 {
		return errInvalid("empty separator")
	}
	if len(c.sep) > maxSeparator {
		return errInvalid("separator longer than %d bytes", maxSeparator)
	}
	return nil
}

// maxSeparator bounds the separator length so that a read buffer always
// has room to make progress.
const maxSeparator = 64 << 10

// hasBorder reports whether a proper prefix of sep is also a suffix of it
// ("\n\n", "aba"). Such a separator can overlap itself, so where records end
// depends on where the scan started; one without a border (the usual "\n",
// "\r\n", "\x00") matches at the same places from any starting point.
func hasBorder(sep []byte) bool {
	for k := 1; k < len(sep); k++ {
		if bytes.Equal(sep[:k], sep[len(sep)-k:]) {
			return true
		}
	}
	return false
}

// errInvalid returns "split: invalid argument: <format>", wrapping
// ErrInvalid.
func errInvalid(format string, args ...any) error {
	return fmt.Errorf("split: %w: "+format, append([]any{ErrInvalid}, args...)...)
}
