package gather

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// writeBackStep is how many written bytes a destFile gathers before it
// starts their write-back to disk.
const writeBackStep = 4 << 20

// destFile is a destination published all at once: it is written to a
// temporary file in the destination's directory, which publish renames
// onto the destination and abort removes. [File] and [MergeFile] write
// through one.
type destFile struct {
	path    string
	tmpPath string
	f       *os.File // nil once closed
	opts    *Options

	// Write-back: bytes below wbFrom were handed to startWriteBack (or
	// need none). Only the holder of the destination writes, but the
	// holder changes hands, so wbMu keeps the race detector and readers
	// of this code sure.
	wbMu   sync.Mutex
	wbFrom int64
	wbStep int64 // writeBackStep; tests lower it

	// For tests: fsyncs of the file and of its directory, and write-backs
	// started.
	syncs      atomic.Int32
	writeBacks atomic.Int32
}

// createDest checks path (see checkDest), removes the temporary files for
// it that dead processes left, and creates this run's temporary file.
func createDest(path string, opts *Options) (*destFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := checkDest(path, dir, base); err != nil {
		return nil, err
	}
	removeStaleTemps(dir, func(name string) bool { return name == base })
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return nil, fmt.Errorf("gather: output %s: %w", path, err)
	}
	return &destFile{path: path, tmpPath: f.Name(), f: f, opts: opts, wbStep: writeBackStep}, nil
}

// checkDest refuses a destination that could not be published to.
func checkDest(path, dir, base string) error {
	if base == "" || base == "." || base == ".." {
		return fmt.Errorf("gather: output %q does not name a file: %w", path, ErrInvalid)
	}
	dir = filepath.Clean(dir)
	dst, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("gather: output %s: directory %s does not exist: %w", path, dir, fs.ErrNotExist)
	case err != nil:
		return fmt.Errorf("gather: output %s: %w", path, err)
	case !dst.IsDir():
		return fmt.Errorf("gather: output %s: %s is not a directory: %w", path, dir, ErrInvalid)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("gather: output %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("gather: output %s is a directory: %w", path, ErrInvalid)
	case !st.Mode().IsRegular():
		return fmt.Errorf("gather: output %s is not a regular file (%s): %w", path, st.Mode().Type(), ErrInvalid)
	}
	return nil
}

// publish syncs the temporary file, sets its permission, renames it onto
// the destination and syncs the directory.
func (d *destFile) publish() error {
	if d.opts.sync() {
		d.syncs.Add(1)
		if err := d.f.Sync(); err != nil {
			return fmt.Errorf("gather: %w", err)
		}
	}
	if err := d.f.Chmod(d.opts.perm()); err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	err := d.f.Close()
	d.f = nil
	if err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	if err := os.Rename(d.tmpPath, d.path); err != nil {
		return fmt.Errorf("gather: %w", err)
	}
	if d.opts.sync() {
		d.syncs.Add(1)
		return syncDir(filepath.Dir(d.path))
	}
	return nil
}

// The methods below let the ordered core write through to the temporary
// file: at explicit offsets, so that the bytes of an attempt that fails
// can be cut off again with truncate. Their callers hold the destination
// exclusively (see orderedCore), one at a time.

// writeAt writes p at off.
func (d *destFile) writeAt(p []byte, off int64) error {
	_, err := d.f.WriteAt(p, off)
	return err
}

// writeSpool writes a sealed spool's bytes at off.
func (d *destFile) writeSpool(s *spool, off int64) error {
	if s.spilled() {
		src, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("reading spill file: %w", err)
		}
		defer src.Close()
		if _, err := d.f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		// *os.File's ReadFrom uses copy_file_range or sendfile.
		_, err = io.Copy(d.f, src)
		return err
	}
	for i, blk := range s.blocks {
		data := *blk
		if i == len(s.blocks)-1 {
			data = data[:s.fill]
		}
		if err := d.writeAt(data, off); err != nil {
			return err
		}
		off += int64(len(data))
	}
	return nil
}

// truncate cuts the file back to off, dropping the bytes of an attempt
// that will not be committed.
func (d *destFile) truncate(off int64) error {
	d.wbMu.Lock()
	d.wbFrom = min(d.wbFrom, off)
	d.wbMu.Unlock()
	return d.f.Truncate(off)
}

// writeBack starts writing the file's bytes up to end to disk once at
// least wbStep of them wait, so that the fsync before the rename has
// little left to do. It does not wait for the disk, and a failure is
// ignored: it is only a head start, the fsync still makes the file
// durable. With Options.NoSync it does nothing.
func (d *destFile) writeBack(end int64) {
	if !d.opts.sync() {
		return
	}
	d.wbMu.Lock()
	defer d.wbMu.Unlock()
	if end-d.wbFrom < d.wbStep {
		return
	}
	if startWriteBack(d.f, d.wbFrom, end-d.wbFrom) {
		d.writeBacks.Add(1)
	}
	d.wbFrom = end
}

// abort removes the temporary file, leaving the destination as it was.
func (d *destFile) abort() error {
	var err error
	if d.f != nil {
		err = d.f.Close()
		d.f = nil
	}
	if rerr := os.Remove(d.tmpPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// end publishes the destination when err is nil and removes it
// otherwise, and returns err joined with what failed.
func (d *destFile) end(err error) error {
	if err == nil {
		err = d.publish()
	}
	if err != nil {
		return errors.Join(err, d.abort())
	}
	return nil
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
