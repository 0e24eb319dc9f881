package gather

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// destFile is a destination published all at once: it is written to a
// temporary file in the destination's directory, which publish renames
// onto the destination and abort removes. [File] and [MergeFile] write
// through one.
type destFile struct {
	path    string
	tmpPath string
	f       *os.File // nil once closed
	opts    *Options
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
	return &destFile{path: path, tmpPath: f.Name(), f: f, opts: opts}, nil
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
		return syncDir(filepath.Dir(d.path))
	}
	return nil
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
