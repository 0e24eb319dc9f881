package splittest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"dproc/split"
	"dproc/split/splittest"
)

// Check verifies a Splitter's promises on one input: chunks in order that
// concatenate back to the input, no record cut, each chunk readable twice.
func ExampleCheck() {
	in := []byte("a\nbb\nccc\r\n\x00\nno newline")
	err := splittest.Check(split.Blocks(bytes.NewReader(in), int64(len(in)), 3, nil), in, []byte("\n"))
	fmt.Println("blocks:", err)

	// A splitter that cuts inside a record is caught.
	bad := split.SplitterFunc(func(_ context.Context, yield func(split.Chunk) error) error {
		for i, part := range [][]byte{in[:4], in[4:]} {
			off := int64(0)
			if i == 1 {
				off = 4
			}
			if err := yield(split.NewChunk(i, off, int64(len(part)), -1, func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(part)), nil
			}, nil)); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Println("bad:", splittest.Check(bad, in, []byte("\n")) != nil)
	// Output:
	// blocks: <nil>
	// bad: true
}
