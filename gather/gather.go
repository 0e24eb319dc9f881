package gather

import (
	"errors"
	"io"
)

// Gatherer collects the outputs of a run's chunks into a final result.
//
// The dispatcher asks for one [Output] per attempt at a chunk, writes the
// worker's output into it, and then commits or discards it: an attempt's
// bytes count only once committed, so a failed, cancelled or duplicate
// attempt leaves no trace. At most one Output per chunk is committed.
//
// A Gatherer must be safe for concurrent use: Outputs for different chunks
// (and for different attempts at the same chunk) are written concurrently.
type Gatherer interface {
	// Output returns a new, empty Output for one attempt at chunk index.
	Output(index int) (Output, error)

	// Close ends the run. When err is nil the run succeeded and n chunks,
	// indexes 0 to n-1, should all have been committed: Close then
	// publishes the result (flushes the last bytes, renames a temporary
	// file into place) and returns an error if any chunk is missing. When
	// err is not nil the run failed: Close discards whatever is not yet
	// published (a file destination is removed, never left partial) and
	// returns err, joined with any error of its own. Close must be called
	// exactly once, after every Output has been committed or discarded.
	Close(n int, err error) error
}

// Output receives one attempt's bytes. Write is called from one goroutine;
// exactly one of Commit and Discard is then called, once.
type Output interface {
	io.Writer
	// Commit makes the attempt's bytes the chunk's result. It returns an
	// error if another attempt at the same chunk was already committed
	// (the duplicate is discarded) or if the bytes could not be kept.
	Commit() error
	// Discard drops the attempt's bytes and frees what they held.
	Discard()
}

// ErrDuplicate is returned by Output.Commit when the chunk already has a
// committed result.
var ErrDuplicate = errors.New("gather: chunk already committed")
