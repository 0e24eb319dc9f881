// Package gather collects the outputs of a run's chunks into its result.
//
// The dispatcher asks a [Gatherer] for one [Output] per attempt at a chunk,
// writes the worker's output into it, then commits it if the attempt
// succeeded or discards it if not. Retries and speculative copies mean
// several attempts at one chunk may be written at once: the first Commit
// wins, and later ones return [ErrDuplicate] and are dropped. At the end
// the dispatcher calls Close(n, err) once: with a nil err the gatherer
// checks that chunks 0 to n-1 were all committed (else [ErrIncomplete])
// and publishes the result; with an error it throws away what is not yet
// published and returns err.
//
// # Gatherers
//
//   - [Ordered] writes the outputs to an io.Writer in chunk order, each as
//     soon as the ones before it are written (GNU parallel's --keep-order).
//   - [File] does the same into a temporary file that is renamed into
//     place only when the whole run succeeded.
//   - [Dir] writes one file per chunk (GNU parallel's --results), all
//     renamed into place at a successful Close.
//   - [Merge] merges outputs that are each sorted into one sorted stream
//     (the merge step of a distributed sort); [MergeFile] publishes that
//     stream as a file, the way File does.
//   - [Reduce] folds "key<TAB>value" lines per key and writes one line per
//     key, sorted (the reduce step of map/reduce; [Sum] counts).
//
// # Memory and spill files
//
// Every gatherer but Dir keeps an attempt's bytes (for [File], those of an
// attempt that does not write through, see below) in pooled buffers while
// the gatherer's total stays within Options.MemoryBudget (32 MiB by
// default), and moves an output that would go past it to a temporary file
// in Options.TempDir. Outputs committed ahead of their turn are held that
// way until their turn comes, so memory stays bounded however far the
// commit order strays from chunk order, and however big the run. Spill
// files are removed as soon as their bytes are written out or dropped.
// Dir writes each attempt straight to a temporary file in its directory.
// [Merge] and [Reduce] document what they keep beyond the budget.
//
// # Writing through
//
// [File] does not hold the chunk due next at all: one attempt at it
// writes its bytes straight into the temporary file, so a run whose
// chunks finish in order spools nothing, however big they are. That
// attempt is the first to ask for its Output while its chunk is due, or,
// when a chunk becomes due while attempts at it are being written, the
// oldest of them, which then moves what it has spooled so far into the
// file. Other attempts at the same chunk (a speculative copy) spool as
// usual. Exactly one attempt's bytes end up in the file: when the
// writing-through attempt is discarded, the file is truncated back to
// where the chunk starts and another attempt at the chunk, if one is
// being written, writes through instead; when another attempt is committed first, the file is truncated
// back the same way, that attempt's bytes are written, and the later
// bytes of the first are dropped (its Commit returns [ErrDuplicate]).
//
// [Ordered] cannot take bytes back from its writer, so it writes an
// attempt's bytes only once they are committed, and holds the chunk due
// next like any other (within the budget, then in a spill file). To
// stream a big result without spill files, give it to File.
//
// # Atomicity
//
// A run either publishes a complete result or leaves none:
//
//   - File, MergeFile and Dir publish by rename at a successful Close; a
//     failed run removes their temporary files and leaves the destination
//     as it was.
//   - Merge and Reduce write to their writer only at a successful Close.
//   - Ordered streams to its writer during the run, so a failed run may
//     have written a prefix of the result (in order, never a hole or a
//     duplicate). Give it a writer you can throw away, or use File.
//
// Every gatherer must be ended with Close, also by a caller that gives up
// before handing it to a dispatcher (a flag error, a node that cannot be
// reached): Close(0, err) with a non-nil err is the abort, and removes
// the temporary file File and MergeFile create at once. A dispatcher's
// Run closes the gatherer it is given on every path. File and MergeFile
// check their destination when they are created (not a directory, not a
// device, in a directory that exists), so a bad output fails before any
// work.
//
// # Temporary files left by a killed process
//
// A process killed before Close cannot remove its temporary files. Their
// names, ".<name>.tmp-<pid>-<random>", carry the owner's pid, so File and
// MergeFile (for their destination) and Dir (for the files its pattern
// names) remove, when they are created, the temporary files of processes
// that no longer exist, and never those of a run still going on (see
// [File]). Spill files in Options.TempDir carry no owner and are not
// cleaned up this way.
//
// # Errors
//
// Errors wrap sentinels that errors.Is can test: [ErrDuplicate],
// [ErrIncomplete], [ErrClosed], [ErrInvalid], [ErrMalformed] and
// [ErrUnsorted], and errors of the writer or file system are wrapped with
// %w. ErrInvalid is one value shared by every dproc package
// (split.ErrInvalid is the same value); its own text names no package,
// the error that wraps it does ("gather: chunk index -1: invalid
// argument"). A write error of the destination fails the run: the Commit
// that met it returns it, and so do later Output and Commit calls and
// Close. When the write that failed was an attempt writing through to
// File's temporary file, that attempt's Write does not return the error
// (it goes on accepting bytes and drops them); its Commit does.
//
// # Concurrency
//
// Every gatherer is safe for concurrent use, as [Gatherer] requires. An
// Output is used by one goroutine. Writes to the destination happen one
// at a time, in order: from inside the Commit call that completed the
// next chunk due, and for [File] also from inside the Write calls of the
// attempt that writes through.
package gather
