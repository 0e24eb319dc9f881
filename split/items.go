package split

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// ItemsSplitter cuts a list of items (file names, URLs, task arguments)
// into chunks of a given number of items. Create one with [Items].
type ItemsSplitter struct {
	items    []string
	perChunk int
	cfg      config
}

var _ Splitter = (*ItemsSplitter)(nil)

// Items returns a Splitter over a list of items: each chunk holds perChunk
// consecutive items (the last one may hold fewer), each followed by the
// separator, so a worker reads one item per record ("\x00" suits file
// names that may hold newlines). With Options.Header, items[0] is the
// header, copied at the start of every chunk.
//
// Chunk.Offset is -1 (a list has no offsets) and Chunk.Records is the
// number of items in the chunk. Chunks are built when opened, so memory
// stays that of the list itself. Items keeps items, which must not change
// while chunks are in use. Split returns an error wrapping [ErrInvalid]
// when perChunk < 1 or when an item contains the separator, since a
// worker could not tell where it ends.
func Items(items []string, perChunk int, opts *Options) *ItemsSplitter {
	return &ItemsSplitter{items: items, perChunk: perChunk, cfg: newConfig(opts)}
}

// Split implements [Splitter].
func (s *ItemsSplitter) Split(ctx context.Context, yield func(Chunk) error) error {
	if s.perChunk < 1 {
		return errInvalid("items per chunk %d < 1", s.perChunk)
	}
	if err := s.cfg.validate(); err != nil {
		return err
	}
	for i, it := range s.items {
		if bytes.Contains([]byte(it), s.cfg.sep) {
			return errInvalid("item %d contains the separator %q", i, s.cfg.sep)
		}
	}
	items, header := s.items, []string(nil)
	if s.cfg.header && len(items) > 0 {
		header, items = items[:1], items[1:]
	}
	hsize := joinedSize(header, s.cfg.sep)
	for i := 0; len(items) > 0; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("split: %w", err)
		}
		part := items[:min(s.perChunk, len(items))]
		items = items[len(part):]
		sep := s.cfg.sep
		open := func() (io.ReadCloser, error) {
			var b bytes.Buffer
			b.Grow(int(hsize + joinedSize(part, sep)))
			for _, list := range [][]string{header, part} {
				for _, it := range list {
					b.WriteString(it)
					b.Write(sep)
				}
			}
			return io.NopCloser(&b), nil
		}
		c := NewChunk(i, -1, hsize+joinedSize(part, sep), int64(len(part)), open, nil)
		if err := yield(c); err != nil {
			return err
		}
	}
	return nil
}

func joinedSize(items []string, sep []byte) int64 {
	n := int64(len(items) * len(sep))
	for _, it := range items {
		n += int64(len(it))
	}
	return n
}
