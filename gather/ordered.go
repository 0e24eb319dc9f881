package gather

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	c       *orderedCore
	path    string
	tmpPath string
	tmp     *os.File // nil once closed
	opts    *Options
}

var _ Gatherer = (*FileGatherer)(nil)

// File returns a Gatherer that writes the outputs in chunk order, like
// [Ordered], to a temporary file in the directory of path (named
// ".<base>.tmp-*"). Close(n, nil) syncs it, sets its permission to
// Options.Perm and renames it to path, replacing any file there, then
// syncs the directory. A failed run, or Close(n, nil) with a chunk
// missing, removes the temporary file: path is then left as it was,
// absent or with its old content untouched.
func File(path string, opts *Options) (*FileGatherer, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	g := &FileGatherer{path: path, tmpPath: f.Name(), tmp: f, opts: opts}
	g.c = newOrderedCore(opts, func(i int, s *spool) error {
		if err := s.writeTo(g.tmp); err != nil {
			return fmt.Errorf("gather: writing chunk %d: %w", i, err)
		}
		return nil
	})
	return g, nil
}

// Output returns a new Output for one attempt at chunk index.
func (g *FileGatherer) Output(index int) (Output, error) { return g.c.output(index) }

// Close ends the run; see [Gatherer] and [File].
func (g *FileGatherer) Close(n int, err error) error {
	if err := g.c.close(n, err); err != nil {
		return errors.Join(err, g.abort())
	}
	if err := g.publish(); err != nil {
		return errors.Join(err, g.abort())
	}
	return nil
}

func (g *FileGatherer) publish() error {
	if g.opts.sync() {
		if err := g.tmp.Sync(); err != nil {
			return fmt.Errorf("gather: %w", err)
		}
	}
	if err := g.tmp.Chmod(g.opts.perm()); err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	err := g.tmp.Close()
	g.tmp = nil
	if err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	if err := os.Rename(g.tmpPath, g.path); err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	if g.opts.sync() {
		return syncDir(filepath.Dir(g.path))
	}
	return nil
}

func (g *FileGatherer) abort() error {
	var err error
	if g.tmp != nil {
		err = g.tmp.Close()
		g.tmp = nil
	}
	if rerr := os.Remove(g.tmpPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("gather: syncing %s: %w", dir, err)
	}
	return nil
}
