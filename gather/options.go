package gather

import (
	"errors"
	"io/fs"
	"os"

	"dproc/internal/errdef"
)

// Defaults used when an [Options] field is zero.
const (
	// DefaultMemoryBudget is the default Options.MemoryBudget: 32 MiB.
	DefaultMemoryBudget = 32 << 20
	// DefaultPattern is the default Options.Pattern of [Dir].
	DefaultPattern = "chunk-%06d.out"
	// DefaultSeparator is the default Options.Separator of [Reduce].
	DefaultSeparator = "\t"
	// DefaultFanIn is the default Options.FanIn of [Merge].
	DefaultFanIn = 128
	// DefaultPerm is the default Options.Perm of [File], [MergeFile] and
	// [Dir].
	DefaultPerm fs.FileMode = 0o644
)

// Options tunes a gatherer. A nil *Options means all defaults; a zero
// field means that field's default. Each constructor reads only the
// fields that concern it and ignores the others.
type Options struct {
	// MemoryBudget caps the bytes of attempt output that the gatherer
	// holds in memory, across all its outputs at once. An output that
	// would take the total past the budget moves to a temporary file in
	// TempDir (it "spills"), and later writes to it go to that file. The
	// default is DefaultMemoryBudget (32 MiB). A negative value holds
	// nothing in memory: every non-empty output spills.
	//
	// Memory is counted in whole buffers (4 KiB for an output's first
	// buffer, 64 KiB for the next ones), so a tiny output costs 4 KiB of
	// budget. Besides the budget, each output being written to a spill
	// file uses one 64 KiB write buffer.
	MemoryBudget int64

	// TempDir is the directory of spill files. The default is
	// [os.TempDir]. Spill files are removed when their output is
	// written out, discarded, or dropped by Close.
	TempDir string

	// Perm is the permission of the files published by [File],
	// [MergeFile] and [Dir] (set with chmod, so the umask does not apply).
	// The default is DefaultPerm (0644).
	Perm fs.FileMode

	// NoSync skips the fsync of published files and of their directory
	// before and after the rename, and the early write-back of [File]'s
	// bytes. The default (false) syncs, so that a published file
	// survives a crash; set it for scratch output.
	NoSync bool

	// Pattern names the file of chunk i for [Dir]: fmt.Sprintf(Pattern, i).
	// It must hold exactly one integer verb and no path separator. The
	// default is DefaultPattern ("chunk-%06d.out").
	Pattern string

	// FanIn is the most chunk outputs [Merge] reads at once. With more
	// chunks it first merges groups of FanIn outputs into intermediate
	// runs (held within the budget or spilled), and repeats. The default
	// is DefaultFanIn (128); values below 2 mean the default.
	FanIn int

	// Separator splits a line of [Reduce] input into key and value at its
	// first occurrence, and joins them on output. The default is
	// DefaultSeparator (a tab).
	Separator string
}

func (o *Options) memoryBudget() int64 {
	switch {
	case o == nil || o.MemoryBudget == 0:
		return DefaultMemoryBudget
	case o.MemoryBudget < 0:
		return 0
	}
	return o.MemoryBudget
}

func (o *Options) tempDir() string {
	if o == nil || o.TempDir == "" {
		return os.TempDir()
	}
	return o.TempDir
}

func (o *Options) perm() fs.FileMode {
	if o == nil || o.Perm == 0 {
		return DefaultPerm
	}
	return o.Perm.Perm()
}

func (o *Options) sync() bool { return o == nil || !o.NoSync }

func (o *Options) pattern() string {
	if o == nil || o.Pattern == "" {
		return DefaultPattern
	}
	return o.Pattern
}

func (o *Options) fanIn() int {
	if o == nil || o.FanIn < 2 {
		return DefaultFanIn
	}
	return o.FanIn
}

func (o *Options) separator() string {
	if o == nil || o.Separator == "" {
		return DefaultSeparator
	}
	return o.Separator
}

var (
	// ErrIncomplete is returned by Close(n, nil) when some chunk in 0 to
	// n-1 was never committed, or a chunk at or past n was. Nothing is
	// published then.
	ErrIncomplete = errors.New("gather: incomplete run")

	// ErrClosed is returned by calls on a gatherer after Close, and by
	// Write, Commit or Discard misuse on an Output already committed or
	// discarded.
	ErrClosed = errors.New("gather: closed")

	// ErrInvalid is wrapped by the error for an invalid argument: a
	// negative chunk index, a bad Options.Pattern, a destination that
	// cannot be published to. It is the same value as the ErrInvalid of
	// every other dproc package (such as split.ErrInvalid), so any of them
	// matches with errors.Is.
	ErrInvalid = errdef.ErrInvalid

	// ErrMalformed is wrapped by the error of [Reduce] for a line without
	// a separator; the error text names the chunk and the line number.
	ErrMalformed = errors.New("gather: malformed line")

	// ErrUnsorted is wrapped by the error of [Merge] when a chunk's output
	// is not sorted by the comparison function; the error text names the
	// chunk and the line number.
	ErrUnsorted = errors.New("gather: chunk output not sorted")
)
