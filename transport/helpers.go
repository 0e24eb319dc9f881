package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Ping checks that host can run commands now, with t's [Pinger] when it has
// one and by running "true" otherwise. A host that cannot run "true" is
// reported as lost (errors.Is(err, [ErrLost]) holds, as well as
// [ErrFailed]); other errors (a host that went away, a refused host key,
// ctx ending) are returned as the transport reported them.
func Ping(ctx context.Context, t Transport, host string) error {
	if p, ok := t.(Pinger); ok {
		return p.Ping(ctx, host)
	}
	err := t.Run(ctx, host, &Command{Args: []string{"true"}})
	var ee *ExitError
	if err != nil && ctx.Err() == nil && errors.As(err, &ee) {
		return &OpError{Op: "ping", Host: host, Err: LostError(err)}
	}
	return err
}

// Remove deletes the file at p on host, with t's [Remover] when it has one
// and by running "rm -f" otherwise. A missing file is not an error.
func Remove(ctx context.Context, t Transport, host, p string) error {
	p, err := homeRel(p)
	if err != nil {
		return &OpError{Op: "remove", Host: host, Path: p, Err: err}
	}
	if r, ok := t.(Remover); ok {
		return r.Remove(ctx, host, p)
	}
	return t.Run(ctx, host, &Command{Args: []string{"rm", "-f", "--", p}})
}

// Checksums returns the lowercase hex SHA-256 digest of each file in paths on
// host, in order, with "" for a file that does not exist. It uses t's
// [Checksummer] when it has one (one round trip), and otherwise fetches each
// file with Get and hashes it here.
func Checksums(ctx context.Context, t Transport, host string, paths []string) ([]string, error) {
	rel := make([]string, len(paths))
	for i, p := range paths {
		r, err := homeRel(p)
		if err != nil {
			return nil, &OpError{Op: "checksum", Host: host, Path: p, Err: err}
		}
		rel[i] = r
	}
	return checksums(ctx, t, host, rel)
}

// checksums is [Checksums] with paths already read by homeRel.
func checksums(ctx context.Context, t Transport, host string, paths []string) ([]string, error) {
	if c, ok := t.(Checksummer); ok {
		return c.Checksum(ctx, host, paths)
	}
	sums := make([]string, len(paths))
	for i, p := range paths {
		h := sha256.New()
		err := t.Get(ctx, host, p, h)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, err
		}
		sums[i] = hex.EncodeToString(h.Sum(nil))
	}
	return sums, nil
}

// File is one file to install on a host with [Install].
type File struct {
	// Path is where the file goes, relative to the directory given to
	// Install, or absolute, or relative to the home directory when it
	// starts with "~/" (see [Setup] for its stricter rule).
	Path string
	// Mode holds the permission bits; 0 means 0644.
	Mode fs.FileMode
	// Data is the file's content.
	Data []byte
}

// Sum returns the lowercase hex SHA-256 digest of f.Data.
func (f File) Sum() string {
	s := sha256.Sum256(f.Data)
	return hex.EncodeToString(s[:])
}

// InstallResult says what [Install] did on one host.
type InstallResult struct {
	Host    string
	Sent    []string // paths written, as given in File.Path
	Skipped []string // paths already there with the same content
	Bytes   int64    // bytes sent
}

// Install makes sure every file in files exists under dir on host with the
// given content and mode. Files whose content is already there (by SHA-256)
// are not sent again; the others are written atomically with Put, which
// creates missing directories. An empty dir, "~" and "~/" mean the host's
// home directory, and "~/x" its entry x (see the package doc on paths).
//
// A file that is skipped keeps whatever mode it has on the host; Install
// does not compare modes, because not every transport can read them.
func Install(ctx context.Context, t Transport, host, dir string, files []File) (InstallResult, error) {
	dir, err := homeRel(dir)
	if err != nil {
		return InstallResult{Host: host}, withHost("install", host, err)
	}
	return install(ctx, t, host, dir, files)
}

// install is [Install] with dir already read by homeRel.
func install(ctx context.Context, t Transport, host, dir string, files []File) (InstallResult, error) {
	res := InstallResult{Host: host}
	paths := make([]string, len(files))
	for i, f := range files {
		if f.Path == "" {
			return res, withHost("install", host, fmt.Errorf("%w: file %d has an empty path", ErrInvalid, i))
		}
		p, err := homeRel(f.Path)
		if err != nil {
			return res, withHost("install", host, fmt.Errorf("file %d: %w", i, err))
		}
		if strings.HasPrefix(f.Path, "~") {
			paths[i] = p
		} else {
			paths[i] = joinPath(dir, p)
		}
	}
	sums, err := checksums(ctx, t, host, paths)
	if err != nil {
		return res, withHost("install", host, err)
	}
	for i, f := range files {
		if sums[i] == f.Sum() {
			res.Skipped = append(res.Skipped, f.Path)
			continue
		}
		if err := t.Put(ctx, host, paths[i], bytes.NewReader(f.Data), f.Mode); err != nil {
			return res, withHost("install", host, err)
		}
		res.Sent = append(res.Sent, f.Path)
		res.Bytes += int64(len(f.Data))
	}
	return res, nil
}

func joinPath(dir, p string) string {
	if dir == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(dir, p)
}

// homeRel returns p with a leading "~" read as scp and rsync read it: "~"
// and "~/" become "" (the home directory itself) and "~/x" becomes "x"
// (relative paths are resolved against the home directory). Any other p is
// returned as it is, except that "~user" forms (another user's home) are
// refused with an error matching [ErrInvalid]: the transports cannot tell
// where that is, and a directory literally named "~user" is not what the
// caller meant.
func homeRel(p string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	if p == "~" {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return strings.TrimLeft(rest, "/"), nil
	}
	return p, fmt.Errorf("%w: path %q names another user's home directory, which is not supported", ErrInvalid, p)
}

// withHost wraps err, from operation op on host, so that the host is named
// once: with "op: " alone when err already names host (an [*OpError] or an
// [*ExitError] for it, as every transport error is), and as an [*OpError]
// naming host otherwise.
func withHost(op, host string, err error) error {
	if mentionsHost(err, host) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &OpError{Op: op, Host: host, Err: err}
}

// mentionsHost reports whether err, or an error it wraps, is an [*OpError] or
// an [*ExitError] that names host.
func mentionsHost(err error, host string) bool {
	switch e := err.(type) {
	case nil:
		return false
	case *OpError:
		if e.Host == host {
			return true
		}
	case *ExitError:
		return e.Host == host
	case *hostNamed:
		if e.host == host {
			return true
		}
	case *notDirError:
		if e.host == host {
			return true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return mentionsHost(u.Unwrap(), host)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if mentionsHost(e, host) {
				return true
			}
		}
	}
	return false
}

// hostNamed is an error whose text already names host.
type hostNamed struct {
	host string
	msg  string
	err  error // the sentinel it matches
}

func (e *hostNamed) Error() string { return e.msg }
func (e *hostNamed) Unwrap() error { return e.err }
