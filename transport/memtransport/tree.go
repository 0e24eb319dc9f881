package memtransport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"dproc/transport"
)

var (
	_ transport.Tree    = (*Transport)(nil)
	_ transport.Locator = (*Transport)(nil)
)

// ListTree implements [transport.Tree]: it lists every file, directory and
// symbolic link under dir on host without following links (dir itself may
// be a link to a directory). A missing dir is an empty list; a dir that is
// a file, or a link that does not lead to a directory, is an error matching
// [transport.ErrNotDir].
func (t *Transport) ListTree(ctx context.Context, host, dir string, sums bool) ([]transport.Entry, error) {
	c, err := t.begin(ctx, "listtree", host, dir)
	if err != nil {
		return nil, err
	}
	h := c.h
	h.mu.Lock()
	root, kind := h.locateLocked(h.resolve("", dir))
	if kind != fs.ModeDir && kind != kindMissing {
		h.mu.Unlock()
		return nil, c.end(&fs.PathError{Op: "listtree", Path: root, Err: transport.ErrNotDir})
	}
	prefix := strings.TrimSuffix(root, "/") + "/"
	var out []transport.Entry
	if kind == fs.ModeDir {
		for p, f := range h.files {
			if !strings.HasPrefix(p, prefix) {
				continue
			}
			e := transport.Entry{Path: p[len(prefix):], Mode: f.mode, Size: int64(len(f.data)), ModTime: f.mtime}
			if f.target != "" {
				e.Target, e.Size = f.target, int64(len(f.target))
			} else if sums {
				s := sha256.Sum256(f.data)
				e.Sum = hex.EncodeToString(s[:])
			}
			out = append(out, e)
		}
		for p := range h.dirs {
			if strings.HasPrefix(p, prefix) {
				m := h.dirMetaLocked(p)
				out = append(out, transport.Entry{Path: p[len(prefix):], Mode: fs.ModeDir | m.mode, ModTime: m.mtime})
			}
		}
	}
	h.mu.Unlock()
	return out, c.end(c.check(ctx))
}

// ApplyTree implements [transport.Tree]: it creates dir and applies ops
// under it in order, stopping at the first that fails.
func (t *Transport) ApplyTree(ctx context.Context, host, dir string, ops []transport.TreeOp) error {
	c, err := t.begin(ctx, "applytree", host, dir)
	if err != nil {
		return err
	}
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	root := h.resolve("", dir)
	if real, kind := h.locateLocked(root); kind == fs.ModeDir {
		root = real // dir is a link to a directory: work there, as cd does
	}
	if err := c.check(ctx); err != nil {
		return c.end(err)
	}
	if err := h.mkdirAllLocked(root); err != nil {
		return c.end(&fs.PathError{Op: "mkdir", Path: root, Err: err})
	}
	for _, op := range ops {
		if err := h.applyLocked(root, op); err != nil {
			return c.end(fmt.Errorf("%s %q: %w", op.Kind, op.Path, err))
		}
	}
	return c.end(nil)
}

// Locate implements [transport.Locator]: it follows the symbolic links in
// dir, resolved against the home directory, and reports where it leads.
func (t *Transport) Locate(ctx context.Context, host, dir string) (transport.Location, error) {
	c, err := t.begin(ctx, "locate", host, dir)
	if err != nil {
		return transport.Location{}, err
	}
	h := c.h
	h.mu.Lock()
	home, _ := h.locateLocked(h.home)
	real, kind := h.locateLocked(h.resolve("", dir))
	h.mu.Unlock()
	loc := transport.Location{Home: home, Exists: kind != kindMissing, Type: kind}
	switch kind {
	case kindMissing:
		loc.Type = 0
	case fs.ModeDir:
		loc.Dir = real
	}
	return loc, c.end(c.check(ctx))
}

// kindMissing is what locateLocked reports for a path where nothing is.
const kindMissing = fs.ModeTemporary

// locateLocked follows the symbolic links in the clean absolute path p, up
// to 40 of them as Linux does, and returns where it leads and what is
// there: fs.ModeDir, 0 for a regular file, fs.ModeSymlink for a link that
// leads nowhere (dangling or a loop), or kindMissing.
func (h *Host) locateLocked(p string) (string, fs.FileMode) {
	hops := 0
	return h.walkLocked(p, &hops)
}

func (h *Host) walkLocked(p string, hops *int) (string, fs.FileMode) {
	todo := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		f, isFile := h.files[next]
		switch {
		case isFile && f.target != "":
			if *hops++; *hops > 40 {
				return next, fs.ModeSymlink
			}
			target := f.target
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			if len(todo) == 0 {
				// The last element: a link that leads nowhere is
				// reported as such, not as missing.
				if real, kind := h.walkLocked(path.Clean(target), hops); kind != kindMissing {
					return real, kind
				}
				return next, fs.ModeSymlink
			}
			todo = append(strings.Split(strings.TrimPrefix(path.Clean(target), "/"), "/"), todo...)
			cur = "/"
		case isFile:
			if len(todo) > 0 {
				return next, kindMissing // a file is no directory to look into
			}
			return next, 0
		case h.dirs[next]:
			cur = next
		default:
			return next, kindMissing
		}
	}
	if h.dirs[cur] {
		return cur, fs.ModeDir
	}
	return cur, kindMissing
}

func (h *Host) applyLocked(root string, op transport.TreeOp) error {
	p := path.Join(root, op.Path)
	parent := path.Dir(p)
	parentOK := h.dirs[parent]
	f, isFile := h.files[p]
	switch op.Kind {
	case transport.OpMkdir:
		if isFile {
			delete(h.files, p)
		}
		if err := h.mkdirAllLocked(p); err != nil {
			return err
		}
		m := h.dirMetaLocked(p)
		m.mode = op.Mode.Perm()
		h.dirMeta[p] = m
	case transport.OpChmod:
		switch {
		case isFile && f.target != "":
			// A symbolic link keeps its mode.
		case isFile:
			h.files[p] = &file{data: f.data, mode: op.Mode.Perm(), mtime: f.mtime}
		case h.dirs[p]:
			m := h.dirMetaLocked(p)
			m.mode = op.Mode.Perm()
			h.dirMeta[p] = m
		default:
			return fs.ErrNotExist
		}
	case transport.OpChtimes:
		switch {
		case isFile:
			g := *f
			g.mtime = op.ModTime
			h.files[p] = &g
		case h.dirs[p]:
			m := h.dirMetaLocked(p)
			m.mtime = op.ModTime
			h.dirMeta[p] = m
		}
		// A missing path is left alone, as touch -c does.
	case transport.OpSymlink:
		if !parentOK {
			return fs.ErrNotExist
		}
		h.removeAllLocked(p)
		h.files[p] = &file{data: []byte{}, mode: fs.ModeSymlink | 0o777, mtime: time.Now(), target: op.Target}
	case transport.OpRemoveAll:
		h.removeAllLocked(p)
	default:
		return fmt.Errorf("%w: unknown tree op %v", transport.ErrInvalid, op.Kind)
	}
	return nil
}
