package split

import (
	"fmt"
	"io"
)

// EvenFile opens the named file and returns an [Even] splitter over its
// whole content, and the file to close once the chunks are no longer
// needed.
//
// The file must be a regular file whose size Stat tells: a pipe, a FIFO,
// a device or a /proc file makes EvenFile fail with an error wrapping
// [ErrNotRegular] (splitting it by its Stat size would yield no chunk).
// [OpenInput] streams such inputs into blocks instead.
func EvenFile(path string, n int, opts *Options) (*EvenSplitter, io.Closer, error) {
	in, err := openRegular(path, opts)
	if err != nil {
		return nil, nil, err
	}
	return Even(in.ra, in.size, n, opts), in, nil
}

// BlocksFile opens the named file and returns a [Blocks] splitter over its
// whole content, and the file to close once the chunks are no longer
// needed. A blockSize < 1 means [BlockSizeFor](size, 1): the whole file in
// blocks of at most [MaxBlockSize].
//
// The file must be a regular file whose size Stat tells; anything else
// makes BlocksFile fail with an error wrapping [ErrNotRegular], as for
// [EvenFile]. [OpenInput] accepts both kinds.
func BlocksFile(path string, blockSize int64, opts *Options) (*BlockSplitter, io.Closer, error) {
	in, err := openRegular(path, opts)
	if err != nil {
		return nil, nil, err
	}
	if blockSize < 1 {
		blockSize = BlockSizeFor(in.size, 1)
	}
	return Blocks(in.ra, in.size, blockSize, opts), in, nil
}

// openRegular opens path as an Input and refuses one that would be
// streamed.
func openRegular(path string, opts *Options) (*Input, error) {
	in, err := OpenInput(path, opts)
	if err != nil {
		return nil, err
	}
	if in.Streamed() {
		in.Close()
		return nil, fmt.Errorf("split: %s: %w; open it with OpenInput to stream it", in.name, ErrNotRegular)
	}
	return in, nil
}
