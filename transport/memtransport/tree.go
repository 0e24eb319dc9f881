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

var _ transport.Tree = (*Transport)(nil)

// ListTree implements [transport.Tree]: it lists every file, directory and
// symbolic link under dir on host without following links. A missing dir is
// an empty list.
func (t *Transport) ListTree(ctx context.Context, host, dir string, sums bool) ([]transport.Entry, error) {
	c, err := t.begin(ctx, "listtree", host, dir)
	if err != nil {
		return nil, err
	}
	h := c.h
	root := h.resolve("", dir)
	prefix := strings.TrimSuffix(root, "/") + "/"
	h.mu.Lock()
	var out []transport.Entry
	if _, isFile := h.files[root]; !isFile && h.dirs[root] {
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
// under it in order, stopping at the first that fails. An OpStamp records
// this machine's clock, the host's clock here.
func (t *Transport) ApplyTree(ctx context.Context, host, dir string, ops []transport.TreeOp) error {
	c, err := t.begin(ctx, "applytree", host, dir)
	if err != nil {
		return err
	}
	h := c.h
	root := h.resolve("", dir)
	h.mu.Lock()
	defer h.mu.Unlock()
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
	case transport.OpStamp:
		if !parentOK {
			return fs.ErrNotExist
		}
		if h.dirs[p] {
			return errIsDir
		}
		data := fmt.Sprintf("synced %s\ndigest %s\n", time.Now().UTC().Format(time.RFC3339Nano), op.Digest)
		h.files[p] = &file{data: []byte(data), mode: 0o644, mtime: time.Now()}
	default:
		return fmt.Errorf("%w: unknown tree op %v", transport.ErrInvalid, op.Kind)
	}
	return nil
}
