package split

import (
	"context"
	"fmt"
	"io"
)

// Block size limits used by [BlockSizeFor].
const (
	// MinBlockSize is the smallest block BlockSizeFor chooses: 64 KiB.
	MinBlockSize = 64 << 10
	// MaxBlockSize is the largest block BlockSizeFor chooses: 32 MiB.
	// Over SSH each chunk is a session, and OpenSSH's sshd spends CPU per
	// session growing its channel buffers (measured in bench/run.sh: 20 to
	// 40 ms of node CPU per chunk), so chunks much smaller than this cost
	// throughput; much larger ones would balance the load worse.
	MaxBlockSize = 32 << 20
)

// BlockSizeFor returns a block size that cuts an input of size bytes into
// about one block per slot, as GNU parallel's --block -1 does (size/slots,
// rounded up), clamped to [MinBlockSize, MaxBlockSize]. The lower bound
// keeps the cost of a task small next to its data; the upper bound keeps
// the memory a chunk can need bounded (a [StreamSplitter] holds whole
// chunks) and, on large inputs, gives more chunks than slots so that fast
// nodes take more of them. slots < 1 counts as 1.
func BlockSizeFor(size int64, slots int) int64 {
	slots = max(slots, 1)
	b := size / int64(slots)
	if size%int64(slots) != 0 {
		b++
	}
	return min(max(b, MinBlockSize), MaxBlockSize)
}

// BlockSplitter cuts a random-access input into line-aligned blocks of
// about a given size, as GNU parallel --pipepart --block does. Create one
// with [Blocks].
type BlockSplitter struct {
	r     io.ReaderAt
	size  int64
	block int64
	cfg   config
}

var _ Splitter = (*BlockSplitter)(nil)

// Blocks returns a Splitter that cuts the first size bytes of r into
// chunks of at least blockSize bytes each (header aside), but the last:
// each chunk ends at the end of the first record that reaches
// offset+blockSize. A record longer than a block stays whole, in one chunk.
//
// Split reads only near the block boundaries (a few KiB each) unless the
// separator can overlap itself ("\n\n"), in which case it scans the whole
// input to keep the record boundaries of a scan from the start. Records
// are not counted: Chunk.Records is -1. Chunks read r with
// io.SectionReader, so r must allow concurrent ReadAt calls and stay
// readable while chunks are in use. Split returns an error wrapping
// [ErrInvalid] when blockSize < 1.
func Blocks(r io.ReaderAt, size int64, blockSize int64, opts *Options) *BlockSplitter {
	return &BlockSplitter{r: r, size: size, block: blockSize, cfg: newConfig(opts)}
}

// Split implements [Splitter].
func (b *BlockSplitter) Split(ctx context.Context, yield func(Chunk) error) error {
	if err := checkReaderAt(b.r, b.size, &b.cfg); err != nil {
		return err
	}
	if b.block < 1 {
		return errInvalid("block size %d < 1", b.block)
	}
	start, ok, err := dataStart(ctx, b.r, b.size, &b.cfg)
	if err != nil || !ok {
		return err
	}
	var hlen int64
	if b.cfg.header {
		hlen = start
	}
	sc := newScanner(ctx, b.r, b.size, b.cfg.sep)
	sep := int64(len(b.cfg.sep))
	sc.seek(start)
	for i, off := 0, start; off < b.size; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("split: %w", err)
		}
		end := b.size
		if target := off + b.block; target < b.size {
			if !b.cfg.bordered {
				// Any match found from here is a true record end; the
				// first one ending at or after target starts at or
				// after target-len(sep).
				sc.seek(max(off, target-sep))
				if _, err := sc.advance(1); err != nil {
					return err
				}
			} else {
				for sc.pos() < target {
					got, err := sc.advance(1)
					if err != nil {
						return err
					}
					if got == 0 {
						break
					}
				}
			}
			end = sc.pos()
		}
		c := NewChunk(i, off, hlen+end-off, -1, sectionOpener(b.r, hlen, off, end-off), nil)
		if err := yield(c); err != nil {
			return err
		}
		off = end
	}
	return nil
}
