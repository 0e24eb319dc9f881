package split

import (
	"io"
	"os"
)

// EvenFile opens the named file and returns an [Even] splitter over its
// whole content, and the file to close once the chunks are no longer
// needed.
func EvenFile(path string, n int, opts *Options) (*EvenSplitter, io.Closer, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Even(f, size, n, opts), f, nil
}

// BlocksFile opens the named file and returns a [Blocks] splitter over its
// whole content, and the file to close once the chunks are no longer
// needed. A blockSize < 1 means [BlockSizeFor](size, 1): the whole file in
// blocks of at most [MaxBlockSize].
func BlocksFile(path string, blockSize int64, opts *Options) (*BlockSplitter, io.Closer, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, nil, err
	}
	if blockSize < 1 {
		blockSize = BlockSizeFor(size, 1)
	}
	return Blocks(f, size, blockSize, opts), f, nil
}

func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}
