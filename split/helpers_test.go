package split_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"dproc/split"
	"dproc/split/splittest"
)

// separators used by the table and fuzz tests: single bytes, a pair
// without a border, and bordered ones that can overlap themselves.
var separators = []string{"\n", "\x00", "\r\n", "\n\n", "aba", "ab"}

// got is a chunk and its bytes.
type got struct {
	split.Chunk
	data []byte
}

// collect runs s and reads every chunk.
func collect(t testing.TB, s split.Splitter) []got {
	t.Helper()
	var out []got
	err := s.Split(context.Background(), func(c split.Chunk) error {
		r, err := c.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		out = append(out, got{c, b})
		return nil
	})
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	return out
}

// check runs the splittest properties.
func check(s split.Splitter, input []byte, sep string, header bool) error {
	if header {
		return splittest.CheckHeader(s, input, []byte(sep))
	}
	return splittest.Check(s, input, []byte(sep))
}

// dataPart returns the input without its header record (when header is
// set and the header is complete) and the header's length.
func dataPart(input []byte, sep string, header bool) ([]byte, int) {
	if !header {
		return input, 0
	}
	recs := splittest.Records(input, []byte(sep))
	if len(recs) == 0 || !bytes.HasSuffix(recs[0], []byte(sep)) {
		return nil, len(input)
	}
	return input[len(recs[0]):], len(recs[0])
}

// checkEven checks Even's own promises: min(n, records) chunks whose
// record counts differ by at most one, the first ones taking the extra.
func checkEven(chunks []got, input []byte, sep string, header bool, n int) error {
	data, _ := dataPart(input, sep, header)
	records := len(splittest.Records(data, []byte(sep)))
	want := min(n, records)
	if len(chunks) != want {
		return fmt.Errorf("%d chunks, want %d", len(chunks), want)
	}
	for i, c := range chunks {
		w := int64(records / want)
		if i < records%want {
			w++
		}
		if c.Records != w {
			return fmt.Errorf("chunk %d has %d records, want %d", i, c.Records, w)
		}
	}
	return nil
}

// checkBlocks checks the block rule: every chunk but the last holds at
// least block bytes (header aside) and ends at the first record end that
// reaches block bytes.
func checkBlocks(chunks []got, input []byte, sep string, header bool, block int64) error {
	_, hlen := dataPart(input, sep, header)
	for i, c := range chunks {
		body := c.data[hlen:]
		if i == len(chunks)-1 {
			break
		}
		if int64(len(body)) < block {
			return fmt.Errorf("chunk %d has %d bytes, less than the block %d", i, len(body), block)
		}
		recs := splittest.Records(body, []byte(sep))
		if last := int64(len(body) - len(recs[len(recs)-1])); last >= block {
			return fmt.Errorf("chunk %d goes past the record that reaches the block %d", i, block)
		}
	}
	return nil
}

// chunkyReader returns at most n bytes per Read, so that separators span
// reads.
type chunkyReader struct {
	r io.Reader
	n int
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// onlyReader hides every method but Read.
type onlyReader struct{ io.Reader }

// lines returns about size bytes of generated text lines.
func lines(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 128)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%08d the quick brown fox jumps over the lazy dog %d\n", i, i*i%9973)
	}
	return b.Bytes()
}
