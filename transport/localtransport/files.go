package localtransport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"dproc/internal/iox"
	"dproc/transport"
)

// Put writes r to path on host through a temporary file in the same
// directory, which is given its mode and then renamed over path.
func (t *Transport) Put(ctx context.Context, host, path string, r io.Reader, mode fs.FileMode) error {
	home, octx, end, err := t.begin(ctx, "put", host, path)
	if err != nil {
		return err
	}
	defer end()
	if err := put(octx, resolve(home, path), r, mode, t.sweepPutTemps); err != nil {
		return &transport.OpError{Op: "put", Host: host, Path: path, Err: err}
	}
	return nil
}

func put(ctx context.Context, full string, r io.Reader, mode fs.FileMode, sweepStale func(dir string)) (err error) {
	if mode == 0 {
		mode = 0o644
	}
	dir, base := filepath.Split(full)
	if base == "" {
		return fmt.Errorf("%w: no file name", transport.ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(base) > 100 {
		base = base[:100]
	}
	sweepStale(dir)
	f, err := os.CreateTemp(dir, "."+base+".dproc-"+owner()+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, iox.NewContextReader(ctx, r)); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctxErr(ctx)
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), full)
}

// Get copies the file at path on host into w.
func (t *Transport) Get(ctx context.Context, host, path string, w io.Writer) error {
	home, octx, end, err := t.begin(ctx, "get", host, path)
	if err != nil {
		return err
	}
	defer end()
	if err := get(octx, resolve(home, path), w); err != nil {
		return &transport.OpError{Op: "get", Host: host, Path: path, Err: err}
	}
	return nil
}

func get(ctx context.Context, full string, w io.Writer) error {
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if fi.IsDir() {
		return &fs.PathError{Op: "get", Path: full, Err: syscall.EISDIR}
	}
	_, err = io.Copy(w, iox.NewContextReader(ctx, f))
	return err
}

// Ping reports whether host's directory exists. An unknown host is a
// refusal, not a lost host: the error matches [transport.ErrUnknownHost] and
// not [transport.ErrLost], as the [transport.Pinger] rules say.
func (t *Transport) Ping(ctx context.Context, host string) error {
	_, _, end, err := t.begin(ctx, "ping", host, "")
	if err != nil {
		return err
	}
	end()
	return nil
}

// Remove deletes the file at path on host. A missing file is not an error; a
// directory is not removed.
func (t *Transport) Remove(ctx context.Context, host, path string) error {
	home, _, end, err := t.begin(ctx, "remove", host, path)
	if err != nil {
		return err
	}
	defer end()
	full := resolve(home, path)
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
	case fi.IsDir():
		err = &fs.PathError{Op: "remove", Path: full, Err: syscall.EISDIR}
	default:
		err = os.Remove(full)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		return &transport.OpError{Op: "remove", Host: host, Path: path, Err: err}
	}
	return nil
}

// Checksum returns the hex SHA-256 of each file in paths on host, with "" for
// a file that does not exist.
func (t *Transport) Checksum(ctx context.Context, host string, paths []string) ([]string, error) {
	home, octx, end, err := t.begin(ctx, "checksum", host, "")
	if err != nil {
		return nil, err
	}
	defer end()
	sums := make([]string, len(paths))
	for _, p := range paths {
		if _, err := transport.HomeRel(p); err != nil {
			return nil, &transport.OpError{Op: "checksum", Host: host, Path: p, Err: err}
		}
	}
	for i, p := range paths {
		h := sha256.New()
		err := get(octx, resolve(home, p), h)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, &transport.OpError{Op: "checksum", Host: host, Path: p, Err: err}
		}
		sums[i] = hex.EncodeToString(h.Sum(nil))
	}
	return sums, nil
}
