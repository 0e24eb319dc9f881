package gather

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// committer receives sealed spools from outputs.
type committer interface {
	commit(index int, s *spool) error
}

// Lease states of an output of a write-through core (see orderedCore).
const (
	leaseNone    int32 = iota // the output spools
	leaseGranted              // it is due next and may write through; it has not written since
	leaseActive               // it writes through to the destination
	leaseRevoked              // another attempt at its chunk was committed: its bytes are dropped
)

// output is the Output of the spool-backed gatherers.
type output struct {
	c     committer
	index int
	s     *spool
	done  bool

	// With a write-through core (wt not nil): the lease. mu is held
	// while the output writes to the destination, so that a commit that
	// revokes the lease can wait for a write in progress to end.
	wt      *orderedCore
	mu      sync.Mutex
	lease   atomic.Int32
	base    int64 // where the chunk starts in the destination; set with the grant
	written int64 // bytes written through
	failed  bool  // a write through failed: the run has failed
}

func (o *output) Write(p []byte) (int, error) {
	if o.done {
		return 0, fmt.Errorf("gather: write to chunk %d output after commit or discard: %w", o.index, ErrClosed)
	}
	if o.wt == nil {
		return o.s.Write(p)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch o.lease.Load() {
	case leaseNone:
		return o.s.Write(p)
	case leaseRevoked:
		return len(p), nil
	case leaseGranted:
		if !o.lease.CompareAndSwap(leaseGranted, leaseActive) {
			return len(p), nil // revoked meanwhile
		}
		o.wt.promote(o)
	}
	o.wt.writeThrough(o, p)
	return len(p), nil
}

func (o *output) Commit() error {
	if o.done {
		return fmt.Errorf("gather: chunk %d output already committed or discarded: %w", o.index, ErrClosed)
	}
	o.done = true
	if err := o.s.seal(); err != nil {
		if o.wt != nil {
			o.wt.discardOutput(o)
		}
		return errors.Join(fmt.Errorf("chunk %d: %w", o.index, err), o.s.free())
	}
	if o.wt != nil {
		return o.wt.commitOutput(o)
	}
	return o.c.commit(o.index, o.s)
}

func (o *output) Discard() {
	if o.done {
		return
	}
	o.done = true
	if o.wt != nil {
		o.wt.discardOutput(o)
		return
	}
	_ = o.s.free() // the attempt is dropped; a spill file left behind is only litter in TempDir
}

// orderedCore hands committed outputs to a sink in chunk order: the
// contiguous prefix at once, later chunks when their turn comes. One
// goroutine at a time drains, so the sink is never called concurrently.
//
// With a destination file (dest not nil) the core also writes through:
// one attempt at the chunk due next holds a lease and writes its bytes
// straight into the file at the offset where the chunk starts, instead
// of spooling them. Exactly one party uses the file at a time: the lease
// holder, or a drainer (c.draining), never both, and the core grants no
// lease while draining. The lease is granted to an attempt that asks for
// its Output while its chunk is due, or, when a chunk becomes due, to the
// oldest attempt at it still being written; that attempt first copies
// what it has spooled so far into the file, at its next Write. It ends:
//
//   - at the holder's Commit: its bytes are in place, and the next chunks
//     held are drained after them;
//   - at the holder's Discard: the file is truncated back to where the
//     chunk starts, and the lease goes to another attempt at the chunk;
//   - at the Commit of another attempt at the chunk, which wins: the
//     lease is revoked, the committer waits for a write in progress to
//     end, truncates the file back to the chunk's start and drains. The
//     revoked holder's later bytes are dropped and its Commit returns
//     ErrDuplicate.
type orderedCore struct {
	b    *budget
	sink func(index int, s *spool) error
	dest *destFile // nil: no write-through; the sink is not used

	mu       sync.Mutex
	next     int   // chunks below next were committed and sunk
	off      int64 // with dest: the bytes of the chunks below next
	held     map[int]*spool
	live     map[int][]*output // with dest: outputs not yet ended, by chunk
	lease    *output           // with dest: the output writing through
	draining bool
	err      error // first sink error: the run has failed
	closed   bool
}

func newOrderedCore(opts *Options, sink func(int, *spool) error) *orderedCore {
	return &orderedCore{b: newBudget(opts), sink: sink, held: make(map[int]*spool)}
}

// newThroughCore returns a core that writes through to d.
func newThroughCore(opts *Options, d *destFile) *orderedCore {
	c := newOrderedCore(opts, nil)
	c.dest = d
	c.live = make(map[int][]*output)
	return c
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
	o := &output{c: c, index: index, s: newSpool(c.b)}
	if c.dest != nil {
		o.wt = c
		c.live[index] = append(c.live[index], o)
		c.offerLease()
	}
	return o, nil
}

func (c *orderedCore) commit(index int, s *spool) error {
	c.mu.Lock()
	return c.commitLocked(index, s)
}

// commitLocked commits a sealed spool; it is called with c.mu held and
// unlocks it.
func (c *orderedCore) commitLocked(index int, s *spool) error {
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
	if v := c.lease; v != nil {
		// Another attempt at this chunk writes through: this commit wins.
		c.lease = nil
		at := c.off
		st := v.lease.Swap(leaseRevoked)
		c.mu.Unlock()
		var terr error
		if st == leaseActive {
			v.mu.Lock() // wait out a write in progress
			v.mu.Unlock()
			terr = c.dest.truncate(at)
		}
		c.mu.Lock()
		if terr != nil {
			c.fail(fmt.Errorf("gather: dropping the bytes of another attempt at chunk %d: %w", index, terr))
		}
	}
	c.drain()
	err = c.err
	c.mu.Unlock()
	return err
}

// drain sinks the held chunks due next, in order. It is called with c.mu
// held and c.draining set, and returns with c.mu held, c.draining clear
// and the lease offered.
func (c *orderedCore) drain() {
	for c.err == nil {
		s, ok := c.held[c.next]
		if !ok {
			break
		}
		delete(c.held, c.next)
		i, at := c.next, c.off
		c.next++
		c.mu.Unlock()
		var serr error
		if c.dest != nil {
			if serr = c.dest.writeSpool(s, at); serr != nil {
				serr = fmt.Errorf("gather: writing chunk %d: %w", i, serr)
			} else {
				c.dest.writeBack(at + s.size)
			}
		} else {
			serr = c.sink(i, s)
		}
		size := s.size
		ferr := s.free()
		c.mu.Lock()
		c.off += size
		if serr != nil || ferr != nil {
			c.fail(errors.Join(serr, ferr))
		}
	}
	c.draining = false
	c.offerLease()
}

// fail records the run's first error and drops the held outputs; c.mu is
// held.
func (c *orderedCore) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	_ = c.dropHeld()
}

// offerLease grants the lease to an attempt at the chunk due next, if
// the destination is free; c.mu is held.
func (c *orderedCore) offerLease() {
	if c.dest == nil || c.lease != nil || c.draining || c.err != nil || c.closed {
		return
	}
	outs := c.live[c.next]
	if len(outs) == 0 {
		return
	}
	o := outs[0]
	o.base = c.off // published to o by the store below
	c.lease = o
	o.lease.Store(leaseGranted)
}

// forget removes an ended output from c.live; c.mu is held.
func (c *orderedCore) forget(o *output) {
	outs := c.live[o.index]
	for i, x := range outs {
		if x == o {
			outs = append(outs[:i], outs[i+1:]...)
			break
		}
	}
	if len(outs) == 0 {
		delete(c.live, o.index)
	} else {
		c.live[o.index] = outs
	}
}

// promote moves what o spooled before it got the lease into the
// destination; o.mu is held and o's lease is active.
func (c *orderedCore) promote(o *output) {
	err := o.s.seal()
	if err == nil {
		err = c.dest.writeSpool(o.s, o.base)
	}
	size := o.s.size
	if ferr := o.s.free(); err == nil {
		err = ferr
	}
	if err != nil {
		c.failThrough(o, fmt.Errorf("gather: writing chunk %d: %w", o.index, err))
		return
	}
	o.written = size
}

// writeThrough writes p to the destination after o's earlier bytes; o.mu
// is held and o's lease is active.
func (c *orderedCore) writeThrough(o *output, p []byte) {
	if o.failed {
		return
	}
	if err := c.dest.writeAt(p, o.base+o.written); err != nil {
		c.failThrough(o, fmt.Errorf("gather: writing chunk %d: %w", o.index, err))
		return
	}
	o.written += int64(len(p))
	c.dest.writeBack(o.base + o.written)
}

// failThrough fails the run with a write error of the lease holder o;
// o.mu is held. The attempt's later bytes are dropped, and its Commit
// returns err.
func (c *orderedCore) failThrough(o *output, err error) {
	o.failed = true
	c.mu.Lock()
	c.fail(err)
	c.mu.Unlock()
}

// commitOutput commits an output of a write-through core; its spool is
// sealed.
func (c *orderedCore) commitOutput(o *output) error {
	c.mu.Lock()
	c.forget(o)
	if c.lease != o {
		return c.commitLocked(o.index, o.s)
	}
	c.lease = nil
	if o.lease.Swap(leaseNone) == leaseGranted {
		// It never wrote through: its spool goes the usual way.
		return c.commitLocked(o.index, o.s)
	}
	_ = o.s.free() // empty: promote freed it
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return err
	}
	// Nobody else committed the chunk, or the lease would be revoked.
	c.next++
	c.off += o.written
	c.draining = true
	end := c.off
	c.mu.Unlock()
	c.dest.writeBack(end)
	c.mu.Lock()
	c.drain()
	err := c.err
	c.mu.Unlock()
	return err
}

// discardOutput drops an output of a write-through core: the bytes it
// wrote through are cut off the destination, and the lease goes on.
func (c *orderedCore) discardOutput(o *output) {
	c.mu.Lock()
	c.forget(o)
	if c.lease == o {
		c.lease = nil
		if o.lease.Swap(leaseNone) == leaseActive && c.err == nil {
			c.draining = true
			at := c.off
			c.mu.Unlock()
			err := c.dest.truncate(at)
			c.mu.Lock()
			if err != nil {
				c.fail(fmt.Errorf("gather: dropping the bytes of a failed attempt at chunk %d: %w", o.index, err))
			}
			c.drain()
		} else {
			c.offerLease()
		}
	}
	c.mu.Unlock()
	_ = o.s.free() // the attempt is dropped; a spill file left behind is only litter in TempDir
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
// prefix of the result in w; use [File] to publish all or nothing. Only
// committed bytes reach w, so an attempt's output is held until its
// Commit even when its chunk is the one due: a retried attempt cannot
// leave half an output behind. [File] writes the chunk due through.
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
// The chunk due next is written straight into the temporary file while
// its attempt runs, and only chunks that finish early are held (see
// "Writing through" in the package documentation).
//
// # Durability
//
// The file is on disk before it is renamed into place: Close(n, nil)
// fsyncs it, and fsyncs the directory after the rename. So that this
// final fsync has little left to write, File starts the write-back of
// the file's bytes while the run goes on, every 4 MiB written (on Linux
// with sync_file_range(2), which does not wait for the disk; elsewhere
// the final fsync writes everything). Starting the write-back only moves
// the disk work earlier: it neither replaces the fsync nor changes the
// bytes, and a failure to start it is ignored. Bytes an attempt wrote
// through and that are then truncated away may have been written to
// disk for nothing. With Options.NoSync there is neither write-back nor
// fsync.
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
	return &FileGatherer{d: d, c: newThroughCore(opts, d)}, nil
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
