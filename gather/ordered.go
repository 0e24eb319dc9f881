package gather

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// committer receives sealed spools from outputs.
type committer interface {
	commit(index int, s *spool) error
}

// output is the Output of the spool-backed gatherers.
type output struct {
	c     committer
	index int
	s     *spool
	done  bool
}

func (o *output) Write(p []byte) (int, error) {
	if o.done {
		return 0, fmt.Errorf("gather: write to chunk %d output after commit or discard: %w", o.index, ErrClosed)
	}
	return o.s.Write(p)
}

func (o *output) Commit() error {
	if o.done {
		return fmt.Errorf("gather: chunk %d output already committed or discarded: %w", o.index, ErrClosed)
	}
	o.done = true
	if err := o.s.seal(); err != nil {
		return errors.Join(fmt.Errorf("chunk %d: %w", o.index, err), o.s.free())
	}
	return o.c.commit(o.index, o.s)
}

func (o *output) Discard() {
	if o.done {
		return
	}
	o.done = true
	_ = o.s.free() // the attempt is dropped; a spill file left behind is only litter in TempDir
}

// orderedCore hands committed outputs to a sink in chunk order: the
// contiguous prefix at once, later chunks when their turn comes. One
// goroutine at a time drains, so the sink is never called concurrently.
type orderedCore struct {
	b    *budget
	sink func(index int, s *spool) error

	mu       sync.Mutex
	next     int // chunks below next were committed and sunk
	held     map[int]*spool
	draining bool
	err      error // first sink error: the run has failed
	closed   bool
}

func newOrderedCore(opts *Options, sink func(int, *spool) error) *orderedCore {
	return &orderedCore{b: newBudget(opts), sink: sink, held: make(map[int]*spool)}
}

func (c *orderedCore) output(index int) (Output, error) {
	if index < 0 {
		return nil, fmt.Errorf("gather: chunk index %d: %w", index, ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.err != nil {
		return nil, c.err
	}
	return &output{c: c, index: index, s: newSpool(c.b)}, nil
}

func (c *orderedCore) commit(index int, s *spool) error {
	c.mu.Lock()
	var err error
	switch {
	case c.closed:
		err = ErrClosed
	case c.err != nil:
		err = c.err
	case index < c.next || c.held[index] != nil:
		err = fmt.Errorf("chunk %d: %w", index, ErrDuplicate)
	}
	if err != nil {
		c.mu.Unlock()
		return errors.Join(err, s.free())
	}
	c.held[index] = s
	if c.draining || index != c.next {
		c.mu.Unlock()
		return nil
	}
	c.draining = true
	for c.err == nil {
		s, ok := c.held[c.next]
		if !ok {
			break
		}
		delete(c.held, c.next)
		i := c.next
		c.next++
		c.mu.Unlock()
		serr := c.sink(i, s)
		ferr := s.free()
		c.mu.Lock()
		if serr != nil || ferr != nil {
			c.err = errors.Join(serr, ferr)
			c.dropHeld()
		}
	}
	c.draining = false
	err = c.err
	c.mu.Unlock()
	return err
}

// dropHeld frees every held output; c.mu is held.
func (c *orderedCore) dropHeld() error {
	var err error
	for i, s := range c.held {
		err = errors.Join(err, s.free())
		delete(c.held, i)
	}
	return err
}

// close ends the run and reports whether it may be published.
func (c *orderedCore) close(n int, runErr error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.Join(runErr, ErrClosed)
	}
	c.closed = true
	held := len(c.held)
	err := errors.Join(runErr, c.err, c.dropHeld())
	if err != nil {
		return err
	}
	switch {
	case c.next < n:
		return fmt.Errorf("%w: chunk %d of %d never committed", ErrIncomplete, c.next, n)
	case c.next > n || held > 0:
		return fmt.Errorf("%w: chunks committed past n=%d", ErrIncomplete, n)
	}
	return nil
}

// OrderedGatherer writes the committed outputs to a writer in chunk order.
// Create one with [Ordered].
type OrderedGatherer struct {
	c *orderedCore
	w io.Writer
}

var _ Gatherer = (*OrderedGatherer)(nil)

// Ordered returns a Gatherer that writes every chunk's committed output to
// w, in chunk order, as soon as the chunks before it are written: a
// commit of the next chunk due writes it, and any held chunks that follow,
// before Commit returns. Outputs committed ahead of their turn are held
// within Options.MemoryBudget, then in spill files.
//
// Only one goroutine writes to w at a time, in order. An error from w
// fails the run: the Commit that wrote returns it, later Outputs and
// Commits return it, and Close returns it. Close does not close w.
//
// Bytes reach w while the run is going on, so a failed run may leave a
// prefix of the result in w; use [File] to publish all or nothing.
func Ordered(w io.Writer, opts *Options) *OrderedGatherer {
	g := &OrderedGatherer{w: w}
	g.c = newOrderedCore(opts, func(i int, s *spool) error {
		if err := s.writeTo(g.w); err != nil {
			return fmt.Errorf("gather: writing chunk %d: %w", i, err)
		}
		return nil
	})
	return g
}

// Output returns a new Output for one attempt at chunk index.
func (g *OrderedGatherer) Output(index int) (Output, error) { return g.c.output(index) }

// Close ends the run; see [Gatherer].
func (g *OrderedGatherer) Close(n int, err error) error { return g.c.close(n, err) }

// FileGatherer writes the committed outputs in chunk order to a file that
// appears only when the run succeeds. Create one with [File].
type FileGatherer struct {
	c *orderedCore
	d *destFile

	mu     sync.Mutex
	closed bool
}

var _ Gatherer = (*FileGatherer)(nil)

// File returns a Gatherer that writes the outputs in chunk order, like
// [Ordered], to a temporary file in the directory of path. Close(n, nil)
// syncs it, sets its permission to Options.Perm and renames it to path,
// replacing any file there, then syncs the directory. A failed run, or
// Close(n, nil) with a chunk missing, removes the temporary file: path is
// then left as it was, absent or with its old content untouched.
//
// File checks the destination before any work starts: a path that names
// a directory, or an existing file that is not a regular file (a device,
// a FIFO: renaming onto it would replace it, not write to it), is an error
// wrapping [ErrInvalid], and a path whose directory does not exist is an
// error wrapping fs.ErrNotExist. Use [Ordered] to write to a device or a
// pipe such as standard output.
//
// # Temporary files
//
// The temporary file is named ".<base>.tmp-<pid>-<random>", base being
// the last element of path and pid this process's id. File creates it at
// once, so the caller must end every FileGatherer with Close, also when it
// gives up before handing the gatherer to a dispatcher: Close(0, err)
// with a non-nil err removes the file. Close after Close changes nothing
// and returns [ErrClosed], so a deferred Close(0, err) is a safe guard for
// early returns.
//
// A process that dies before Close (killed, or crashed) leaves its
// temporary file behind. File removes, from the directory of path, the
// temporary files for the same base whose pid names no running process
// (kill(pid, 0) fails with ESRCH). It keeps those of running processes,
// of this process, and names it cannot parse (an owner it cannot tell),
// so a gatherer never removes the file of a run still in progress; a pid
// reused by an unrelated process only delays the cleanup. Systems
// without kill(2) keep every temporary file.
func File(path string, opts *Options) (*FileGatherer, error) {
	d, err := createDest(path, opts)
	if err != nil {
		return nil, err
	}
	g := &FileGatherer{d: d}
	g.c = newOrderedCore(opts, func(i int, s *spool) error {
		if err := s.writeTo(d.f); err != nil {
			return fmt.Errorf("gather: writing chunk %d: %w", i, err)
		}
		return nil
	})
	return g, nil
}

// Output returns a new Output for one attempt at chunk index.
func (g *FileGatherer) Output(index int) (Output, error) { return g.c.output(index) }

// Close ends the run; see [Gatherer] and [File]. A second Close returns
// err joined with [ErrClosed] and leaves the files alone.
func (g *FileGatherer) Close(n int, err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.Join(err, ErrClosed)
	}
	g.closed = true
	return g.d.end(g.c.close(n, err))
}
