package gather

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DirGatherer writes each chunk's output to its own file in a directory.
// Create one with [Dir].
type DirGatherer struct {
	dir     string
	pattern string
	opts    *Options

	mu        sync.Mutex
	committed map[int]string // chunk index to temporary file
	temps     map[string]struct{}
	closed    bool
}

var _ Gatherer = (*DirGatherer)(nil)

// Dir returns a Gatherer that writes the output of chunk i to the file
// fmt.Sprintf(Options.Pattern, i) in dir (default "chunk-%06d.out"),
// creating dir if needed.
//
// Each attempt writes straight to its own temporary file in dir, named
// ".<name>.tmp-<pid>-<random>" (name being the chunk's file name and pid
// this process's id), so outputs take no memory. Commit syncs and keeps
// it; Discard and duplicate commits remove it. Close(n, nil) renames the
// temporary files of chunks 0 to n-1 to their names, replacing files of
// the same name, and syncs dir. Until then no file of the run is visible
// under its final name.
//
// On failure (Close(n, err) with err not nil, or a chunk missing at
// Close(n, nil)) every temporary file of the run is removed and no file
// is renamed, so dir is left as it was. If a rename itself fails at
// Close, the files already renamed by this run are removed too (the
// files they replaced are gone), and the remaining temporary files are
// removed.
//
// A process killed before Close leaves its temporary files in dir. Dir
// removes those of dead processes when it is created, as [File] does for
// its destination: the temporary files whose name has the pattern's shape
// (the pattern's text around a number) and whose pid names no running
// process. It keeps those of running processes and of this process, and
// names whose owner it cannot tell; systems without kill(2) keep all.
func Dir(dir string, opts *Options) (*DirGatherer, error) {
	pattern := opts.pattern()
	a, b := fmt.Sprintf(pattern, 0), fmt.Sprintf(pattern, 1)
	if a == b || strings.Contains(a, "%!") || strings.ContainsRune(a, os.PathSeparator) ||
		strings.ContainsRune(a, '/') || a == "." || a == ".." {
		return nil, fmt.Errorf("gather: pattern %q must hold one integer verb and no path separator: %w", pattern, ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	removeStaleTemps(dir, patternMatcher(pattern))
	return &DirGatherer{
		dir:       dir,
		pattern:   pattern,
		opts:      opts,
		committed: make(map[int]string),
		temps:     make(map[string]struct{}),
	}, nil
}

// Name returns the path of chunk index's file.
func (g *DirGatherer) Name(index int) string {
	return filepath.Join(g.dir, fmt.Sprintf(g.pattern, index))
}

// Output returns a new Output for one attempt at chunk index.
func (g *DirGatherer) Output(index int) (Output, error) {
	if index < 0 {
		return nil, fmt.Errorf("gather: chunk index %d: %w", index, ErrInvalid)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	f, err := os.CreateTemp(g.dir, tempPattern(fmt.Sprintf(g.pattern, index)))
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	g.temps[f.Name()] = struct{}{}
	return &dirOutput{g: g, index: index, f: f}, nil
}

// forget removes a temporary file of the run.
func (g *DirGatherer) forget(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("gather: %w", err) // still in g.temps: Close tries again
	}
	g.mu.Lock()
	delete(g.temps, path)
	g.mu.Unlock()
	return nil
}

func (g *DirGatherer) commit(index int, path string) error {
	g.mu.Lock()
	var err error
	switch {
	case g.closed:
		err = ErrClosed
	case g.committed[index] != "":
		err = fmt.Errorf("chunk %d: %w", index, ErrDuplicate)
	default:
		g.committed[index] = path
	}
	g.mu.Unlock()
	if err != nil {
		return errors.Join(err, g.forget(path))
	}
	return nil
}

// Close ends the run; see [Gatherer] and [Dir].
func (g *DirGatherer) Close(n int, err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.Join(err, ErrClosed)
	}
	g.closed = true
	if err == nil {
		err = g.check(n)
	}
	if err == nil {
		err = g.publish(n)
	}
	if err != nil {
		return errors.Join(err, g.removeTemps())
	}
	return nil
}

// check reports a missing or extra chunk; g.mu is held.
func (g *DirGatherer) check(n int) error {
	for i := range n {
		if g.committed[i] == "" {
			return fmt.Errorf("%w: chunk %d of %d never committed", ErrIncomplete, i, n)
		}
	}
	if len(g.committed) != n {
		return fmt.Errorf("%w: chunks committed past n=%d", ErrIncomplete, n)
	}
	return nil
}

// publish renames the committed files into place; g.mu is held.
func (g *DirGatherer) publish(n int) error {
	perm := g.opts.perm()
	for i := range n {
		tmp := g.committed[i]
		err := os.Chmod(tmp, perm)
		if err == nil {
			err = os.Rename(tmp, g.Name(i))
		}
		if err != nil {
			for j := range i {
				err = errors.Join(err, os.Remove(g.Name(j)))
			}
			return fmt.Errorf("gather: publishing chunk %d: %w", i, err)
		}
		delete(g.temps, tmp)
	}
	if g.opts.sync() {
		return syncDir(g.dir)
	}
	return nil
}

// removeTemps removes every temporary file left; g.mu is held.
func (g *DirGatherer) removeTemps() error {
	var err error
	for path := range g.temps {
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		delete(g.temps, path)
	}
	return err
}

type dirOutput struct {
	g     *DirGatherer
	index int
	f     *os.File
	err   error
}

func (o *dirOutput) Write(p []byte) (int, error) {
	if o.f == nil {
		return 0, fmt.Errorf("gather: write to chunk %d output after commit or discard: %w", o.index, ErrClosed)
	}
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.f.Write(p)
	if err != nil {
		o.err = fmt.Errorf("gather: %w", err)
	}
	return n, o.err
}

func (o *dirOutput) Commit() error {
	if o.f == nil {
		return fmt.Errorf("gather: chunk %d output already committed or discarded: %w", o.index, ErrClosed)
	}
	f, err := o.f, o.err
	o.f = nil
	if err == nil && o.g.opts.sync() {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(fmt.Errorf("gather: chunk %d: %w", o.index, err), o.g.forget(f.Name()))
	}
	return o.g.commit(o.index, f.Name())
}

func (o *dirOutput) Discard() {
	if o.f == nil {
		return
	}
	f := o.f
	o.f = nil
	_ = f.Close()
	_ = o.g.forget(f.Name()) // on failure Close removes it
}
