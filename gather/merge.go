package gather

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MergeGatherer merges sorted chunk outputs into one sorted stream.
// Create one with [Merge], or with [MergeFile] to publish the stream as a
// file.
type MergeGatherer struct {
	w     io.Writer
	cmp   func(a, b []byte) int
	b     *budget
	fanIn int
	d     *destFile // MergeFile's destination, or nil

	mu        sync.Mutex
	committed map[int]*spool
	closed    bool
}

var _ Gatherer = (*MergeGatherer)(nil)

// Merge returns a Gatherer that, at Close(n, nil), merges the committed
// outputs of chunks 0 to n-1 into w. Each output is a sequence of lines
// sorted by cmp (cmp(a, b) < 0 when line a sorts before line b; lines are
// passed without their newline), and w receives all lines sorted by cmp,
// each ending in a newline. Equal lines come out in chunk order, so the
// merge is stable and its result deterministic. A chunk whose lines are
// out of order fails Close with an error wrapping [ErrUnsorted] that
// names the chunk and line.
//
// Nothing reaches w before Close: outputs are held within
// Options.MemoryBudget, then in spill files. The merge reads at most
// Options.FanIn outputs at once (default 128), through one buffered
// reader each (4 KiB for an output in memory, 64 KiB and an open file for
// a spilled one). With more chunks it merges groups of FanIn outputs into
// intermediate runs, held like outputs, and repeats, so memory stays
// within the budget plus FanIn readers, and open files within FanIn, at
// the cost of reading the data once more per extra pass.
//
// An error from w fails Close. Close does not close w. To write the
// result to a file that appears only when the run succeeds, use
// [MergeFile].
func Merge(w io.Writer, cmp func(a, b []byte) int, opts *Options) *MergeGatherer {
	return &MergeGatherer{
		w:         w,
		cmp:       cmp,
		b:         newBudget(opts),
		fanIn:     opts.fanIn(),
		committed: make(map[int]*spool),
	}
}

// MergeFile returns a Gatherer that merges like [Merge] into a file at
// path, published the way [File] publishes: the merge is written to a
// temporary file in the directory of path, which a successful Close
// syncs, sets to Options.Perm and renames to path (then syncs the
// directory); a failed run, a missing chunk or an unsorted chunk removes
// it and leaves path as it was. MergeFile checks the destination and
// names and cleans up its temporary files as File does (see [File]), and
// like File it creates the temporary file at once, so every gatherer it
// returns must be ended with Close.
func MergeFile(path string, cmp func(a, b []byte) int, opts *Options) (*MergeGatherer, error) {
	d, err := createDest(path, opts)
	if err != nil {
		return nil, err
	}
	g := Merge(d.f, cmp, opts)
	g.d = d
	return g, nil
}

// Output returns a new Output for one attempt at chunk index.
func (g *MergeGatherer) Output(index int) (Output, error) {
	if index < 0 {
		return nil, fmt.Errorf("gather: chunk index %d: %w", index, ErrInvalid)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	return &output{c: g, index: index, s: newSpool(g.b)}, nil
}

func (g *MergeGatherer) commit(index int, s *spool) error {
	g.mu.Lock()
	var err error
	switch {
	case g.closed:
		err = ErrClosed
	case g.committed[index] != nil:
		err = fmt.Errorf("chunk %d: %w", index, ErrDuplicate)
	default:
		g.committed[index] = s
	}
	g.mu.Unlock()
	if err != nil {
		return errors.Join(err, s.free())
	}
	return nil
}

// Close ends the run and, when it succeeded, merges; see [Gatherer],
// [Merge] and [MergeFile]. A second Close returns err joined with
// [ErrClosed] and changes nothing.
func (g *MergeGatherer) Close(n int, err error) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errors.Join(err, ErrClosed)
	}
	g.closed = true
	committed := g.committed
	g.committed = nil
	g.mu.Unlock()

	runs := make([]*run, 0, n)
	for i := 0; err == nil && i < n; i++ {
		s := committed[i]
		if s == nil {
			err = fmt.Errorf("%w: chunk %d of %d never committed", ErrIncomplete, i, n)
			break
		}
		runs = append(runs, &run{s: s, chunk: i})
	}
	if err == nil && len(committed) != n {
		err = fmt.Errorf("%w: chunks committed past n=%d", ErrIncomplete, n)
	}
	if err == nil {
		err = g.merge(runs)
	}
	for _, s := range committed { // a no-op for those merge freed
		err = errors.Join(err, s.free())
	}
	if g.d != nil {
		err = g.d.end(err)
	}
	return err
}

// run is a sorted sequence of lines: one chunk's output or an
// intermediate merge of several (chunk is then the first chunk's index,
// which keeps ties in chunk order).
type run struct {
	s     *spool
	chunk int
}

// merge writes runs, merged, to g.w, in passes of at most g.fanIn runs.
// It frees every run, intermediate ones too.
func (g *MergeGatherer) merge(runs []*run) (err error) {
	defer func() {
		for _, r := range runs {
			err = errors.Join(err, r.s.free())
		}
	}()
	for len(runs) > g.fanIn {
		next := make([]*run, 0, (len(runs)+g.fanIn-1)/g.fanIn)
		for start := 0; start < len(runs); start += g.fanIn {
			group := runs[start:min(start+g.fanIn, len(runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			out := &run{s: newSpool(g.b), chunk: group[0].chunk}
			next = append(next, out)
			err := g.mergeRuns(out.s, group)
			if err == nil {
				err = out.s.seal()
			}
			for _, r := range group {
				err = errors.Join(err, r.s.free())
			}
			if err != nil {
				for _, r := range next {
					err = errors.Join(err, r.s.free())
				}
				return err // the deferred loop frees the rest of runs
			}
		}
		runs = next
	}
	return g.mergeRuns(g.w, runs)
}

// mergeRuns writes the lines of runs, merged, to w.
func (g *MergeGatherer) mergeRuns(w io.Writer, runs []*run) (err error) {
	h := &cursorHeap{cmp: g.cmp}
	defer func() {
		for _, c := range h.cs {
			err = errors.Join(err, c.rc.Close())
		}
	}()
	for _, r := range runs {
		rc, err := r.s.open()
		if err != nil {
			return err
		}
		size := smallBlock
		if r.s.spilled() {
			size = bigBlock
		}
		c := &cursor{run: r, rc: rc, lr: newLineReader(rc, size)}
		ok, err := c.advance(g.cmp)
		if !ok || err != nil {
			err = errors.Join(err, rc.Close())
			if err != nil {
				return err
			}
			continue
		}
		h.cs = append(h.cs, c)
	}
	h.init()
	bw := bufio.NewWriterSize(w, bigBlock)
	for len(h.cs) > 0 {
		c := h.cs[0]
		if _, err := bw.Write(c.cur); err != nil {
			return fmt.Errorf("gather: merge: %w", err)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("gather: merge: %w", err)
		}
		ok, err := c.advance(g.cmp)
		if err != nil {
			return err
		}
		if ok {
			h.down(0)
			continue
		}
		h.pop()
		if err := c.rc.Close(); err != nil {
			return fmt.Errorf("gather: merge: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gather: merge: %w", err)
	}
	return nil
}

// cursor is the current line of one run.
type cursor struct {
	*run
	rc  io.ReadCloser
	lr  *lineReader
	cur []byte
}

// advance reads the next line, checking the order; it reports false at
// the end of the run.
func (c *cursor) advance(cmp func(a, b []byte) int) (bool, error) {
	line, err := c.lr.next()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gather: merge: reading chunk %d: %w", c.chunk, err)
	}
	if c.lr.line > 1 && cmp(line, c.cur) < 0 {
		return false, fmt.Errorf("%w: chunk %d line %d", ErrUnsorted, c.chunk, c.lr.line)
	}
	c.cur = append(c.cur[:0], line...)
	return true, nil
}

// cursorHeap is a min-heap of cursors by current line, then chunk. It is
// written out rather than built on container/heap to save the interface
// calls on the merge's hot path.
type cursorHeap struct {
	cs  []*cursor
	cmp func(a, b []byte) int
}

func (h *cursorHeap) less(a, b *cursor) bool {
	if c := h.cmp(a.cur, b.cur); c != 0 {
		return c < 0
	}
	return a.chunk < b.chunk
}

func (h *cursorHeap) init() {
	for i := len(h.cs)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// down moves h.cs[i] down to its place.
func (h *cursorHeap) down(i int) {
	n := len(h.cs)
	c := h.cs[i]
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(h.cs[r], h.cs[j]) {
			j = r
		}
		if !h.less(h.cs[j], c) {
			break
		}
		h.cs[i] = h.cs[j]
		i = j
	}
	h.cs[i] = c
}

// pop removes the smallest cursor.
func (h *cursorHeap) pop() {
	last := len(h.cs) - 1
	h.cs[0] = h.cs[last]
	h.cs[last] = nil
	h.cs = h.cs[:last]
	if last > 0 {
		h.down(0)
	}
}
