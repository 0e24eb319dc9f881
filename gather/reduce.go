package gather

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ReduceFunc folds one more value of key into the accumulated value acc
// and returns the new accumulated value. The first value of a key becomes
// its accumulated value without a call. An error fails the run.
type ReduceFunc func(key, acc, value string) (string, error)

// ReduceGatherer folds key/value lines from every chunk per key. Create
// one with [Reduce].
type ReduceGatherer struct {
	c    *orderedCore
	w    io.Writer
	fold ReduceFunc
	sep  []byte
	acc  map[string]*entry
	lr   *lineReader
}

type entry struct{ key, val string }

var _ Gatherer = (*ReduceGatherer)(nil)

// Reduce returns a Gatherer that reads every committed output as lines
// "key<sep>value" (sep is Options.Separator, a tab by default; the key
// ends at its first occurrence, and a trailing "\r" is kept in the
// value), folds the values of each key with fold, and at Close(n, nil)
// writes one line "key<sep>value" per key to w, sorted by key in byte
// order. A line without the separator (an empty line too) fails the run
// with an error that wraps [ErrMalformed] and names the chunk and line.
//
// Values are folded in chunk order, and in line order within a chunk,
// whatever the order of commits, so fold need not be commutative. To do
// so outputs are folded as they become next in order, like [Ordered]
// writes them; an output committed ahead of its turn is held within
// Options.MemoryBudget, then in a spill file, until then.
//
// Memory: the accumulated map holds every distinct key and its current
// value in memory, outside MemoryBudget, until Close; its size is the
// caller's to bound (word counts over natural text stay small, unique
// keys do not). Close also sorts a slice of the keys. Nothing reaches w
// before Close, and Close does not close w.
func Reduce(w io.Writer, fold ReduceFunc, opts *Options) *ReduceGatherer {
	g := &ReduceGatherer{
		w:    w,
		fold: fold,
		sep:  []byte(opts.separator()),
		acc:  make(map[string]*entry),
	}
	g.c = newOrderedCore(opts, g.foldChunk)
	return g
}

// Output returns a new Output for one attempt at chunk index.
func (g *ReduceGatherer) Output(index int) (Output, error) { return g.c.output(index) }

// foldChunk folds one chunk's lines; the ordered core never calls it
// concurrently.
func (g *ReduceGatherer) foldChunk(index int, s *spool) error {
	rc, err := s.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	size := smallBlock
	if s.spilled() {
		size = bigBlock
	}
	if g.lr == nil || g.lr.br.Size() != size {
		g.lr = newLineReader(rc, size)
	} else {
		g.lr.br.Reset(rc)
		g.lr.line, g.lr.eof = 0, false
	}
	for {
		line, err := g.lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("gather: reduce: reading chunk %d: %w", index, err)
		}
		k, v, ok := bytes.Cut(line, g.sep)
		if !ok {
			return fmt.Errorf("%w: chunk %d line %d: no separator %q", ErrMalformed, index, g.lr.line, g.sep)
		}
		e := g.acc[string(k)]
		if e == nil {
			key := string(k)
			g.acc[key] = &entry{key: key, val: string(v)}
			continue
		}
		if e.val, err = g.fold(e.key, e.val, string(v)); err != nil {
			return fmt.Errorf("gather: reduce: chunk %d line %d key %q: %w", index, g.lr.line, e.key, err)
		}
	}
}

// Close ends the run and, when it succeeded, writes the folded values;
// see [Gatherer] and [Reduce].
func (g *ReduceGatherer) Close(n int, err error) error {
	err = g.c.close(n, err)
	acc := g.acc
	g.acc = nil
	if err != nil || acc == nil {
		return err
	}
	keys := make([]string, 0, len(acc))
	for k := range acc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bw := bufio.NewWriterSize(g.w, bigBlock)
	for _, k := range keys {
		bw.WriteString(k)
		bw.Write(g.sep)
		bw.WriteString(acc[k].val)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gather: reduce: %w", err)
	}
	return nil
}

// Sum is a ReduceFunc that adds decimal integer values (surrounding
// spaces allowed), for counts. A value that is not an integer is an error.
func Sum(key, acc, value string) (string, error) {
	a, err := strconv.ParseInt(strings.TrimSpace(acc), 10, 64)
	if err != nil {
		return "", err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(a+v, 10), nil
}
