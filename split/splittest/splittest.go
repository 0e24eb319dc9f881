// Package splittest checks that a [split.Splitter] keeps the promises of
// the split package, for the splitters of this module and for anyone who
// writes one.
//
// [Check] splits an input and verifies the chunks: indexes, sizes, offsets,
// record counts, record boundaries, re-reading and concurrent reading, and
// that the chunks put back together give the input. A test calls it with
// the input it gave the splitter:
//
//	s := split.Blocks(bytes.NewReader(input), int64(len(input)), 4096, nil)
//	if err := splittest.Check(s, input, []byte("\n")); err != nil {
//		t.Fatal(err)
//	}
package splittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"dproc/split"
)

// Check splits input with s and returns an error describing the first
// broken promise, or nil. The input has no header; see [CheckHeader].
//
// It checks that Split returns nil; that chunk indexes run 0, 1, 2, ...;
// that no chunk is empty; that the chunks concatenate to input exactly (so
// an empty input yields no chunk); that every chunk but the last ends at
// the end of a record, records being found by a left-to-right scan for sep
// that takes the leftmost match (as bytes.Split does); that Size matches
// the bytes read; that Offset, unless -1, is where the chunk starts in the
// input; that Records, unless -1, counts the chunk's records; and that
// each chunk can be opened twice and read through both readers at once,
// giving the same bytes. Finally it releases every chunk twice.
func Check(s split.Splitter, input, sep []byte) error {
	return check(s, input, sep, false)
}

// CheckHeader is [Check] for a splitter set to copy the input's first
// record (the header) at the start of every chunk: each chunk must start
// with the header, and the rest of the chunks must concatenate to the
// input after the header. Offsets count from the start of the input, so
// the first chunk's Offset is the header's length. An input without a
// complete header or with nothing after it must yield no chunk.
func CheckHeader(s split.Splitter, input, sep []byte) error {
	return check(s, input, sep, true)
}

func check(s split.Splitter, input, sep []byte, header bool) error {
	if len(sep) == 0 {
		return errors.New("splittest: empty separator")
	}
	var hdr, data []byte
	data = input
	dataOff := int64(0)
	if header {
		// The header is the first record, if it is complete.
		if ends := recordEnds(input, sep); len(ends) > 0 && bytes.HasSuffix(input[:ends[0]], sep) {
			hdr, data = input[:ends[0]], input[ends[0]:]
		} else {
			hdr, data = input, nil
		}
		dataOff = int64(len(hdr))
	}
	ends := map[int64]bool{}
	for _, e := range recordEnds(data, sep) {
		ends[e] = true
	}

	var chunks []split.Chunk
	err := s.Split(context.Background(), func(c split.Chunk) error {
		chunks = append(chunks, c)
		return nil
	})
	defer func() {
		for _, c := range chunks {
			c.Release()
			c.Release()
		}
	}()
	if err != nil {
		return fmt.Errorf("splittest: Split: %w", err)
	}
	if header && len(data) == 0 && len(chunks) > 0 {
		return fmt.Errorf("splittest: input with only a header (%d bytes) yielded %d chunks, want none", len(input), len(chunks))
	}
	var pos int64 // position in data
	buf := make([]byte, 32<<10)
	for i, c := range chunks {
		if c.Index != i {
			return fmt.Errorf("splittest: chunk #%d has Index %d", i, c.Index)
		}
		got, err := readTwice(c, buf)
		if err != nil {
			return fmt.Errorf("splittest: chunk %d: %w", i, err)
		}
		if int64(len(got)) != c.Size {
			return fmt.Errorf("splittest: chunk %d: Size is %d but Open gave %d bytes", i, c.Size, len(got))
		}
		if !bytes.HasPrefix(got, hdr) {
			return fmt.Errorf("splittest: chunk %d does not start with the header %q: %q", i, clip(hdr), clip(got))
		}
		body := got[len(hdr):]
		if len(body) == 0 {
			return fmt.Errorf("splittest: chunk %d is empty", i)
		}
		if !bytes.HasPrefix(data[pos:], body) {
			return fmt.Errorf("splittest: chunk %d (%q) is not the input at %d (%q)", i, clip(body), dataOff+pos, clip(data[pos:]))
		}
		if c.Offset != -1 && c.Offset != dataOff+pos {
			return fmt.Errorf("splittest: chunk %d: Offset %d, want %d", i, c.Offset, dataOff+pos)
		}
		end := pos + int64(len(body))
		if end < int64(len(data)) && !ends[end] {
			return fmt.Errorf("splittest: chunk %d ends at %d, inside a record", i, dataOff+end)
		}
		if c.Records != -1 {
			if n := countRecords(body, sep); c.Records != n {
				return fmt.Errorf("splittest: chunk %d: Records %d, want %d", i, c.Records, n)
			}
		}
		pos = end
	}
	if pos != int64(len(data)) {
		return fmt.Errorf("splittest: chunks cover %d bytes of %d (input missing from %q)", pos, len(data), clip(data[pos:]))
	}
	return nil
}

// readTwice opens c twice and reads both readers in alternation, a few
// small reads first, so that readers sharing state would show it.
func readTwice(c split.Chunk, buf []byte) ([]byte, error) {
	r1, err := c.Open()
	if err != nil {
		return nil, fmt.Errorf("Open: %w", err)
	}
	defer r1.Close()
	r2, err := c.Open()
	if err != nil {
		return nil, fmt.Errorf("second Open: %w", err)
	}
	defer r2.Close()
	var b1, b2 bytes.Buffer
	done1, done2 := false, false
	for round := 0; !done1 || !done2; round++ {
		step := buf
		if round < 8 {
			step = buf[:7]
		}
		for _, rd := range []struct {
			r    io.Reader
			b    *bytes.Buffer
			done *bool
		}{{r1, &b1, &done1}, {r2, &b2, &done2}} {
			if *rd.done {
				continue
			}
			n, err := rd.r.Read(step)
			rd.b.Write(step[:n])
			if err == io.EOF {
				*rd.done = true
			} else if err != nil {
				return nil, fmt.Errorf("Read: %w", err)
			}
			if int64(rd.b.Len()) > c.Size+int64(len(buf)) && c.Size >= 0 {
				// A reader that never ends: stop before memory does.
				*rd.done = true
			}
		}
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		return nil, fmt.Errorf("two readers gave different bytes: %q and %q", clip(b1.Bytes()), clip(b2.Bytes()))
	}
	if err := r1.Close(); err != nil {
		return nil, fmt.Errorf("Close: %w", err)
	}
	if err := r2.Close(); err != nil {
		return nil, fmt.Errorf("Close: %w", err)
	}
	// The readers were closed: open again for the third time to make sure
	// closing did not free the chunk.
	r3, err := c.Open()
	if err != nil {
		return nil, fmt.Errorf("Open after Close: %w", err)
	}
	defer r3.Close()
	b3, err := io.ReadAll(io.LimitReader(r3, int64(b1.Len())+1))
	if err != nil {
		return nil, fmt.Errorf("Read: %w", err)
	}
	if !bytes.Equal(b1.Bytes(), b3) {
		return nil, fmt.Errorf("reopened chunk gave different bytes: %q and %q", clip(b1.Bytes()), clip(b3))
	}
	return b1.Bytes(), nil
}

// recordEnds returns the offset just past each record of data, found by a
// left-to-right scan for sep taking the leftmost match; a last record
// without a separator ends at len(data).
func recordEnds(data, sep []byte) []int64 {
	var ends []int64
	pos := 0
	for pos < len(data) {
		j := bytes.Index(data[pos:], sep)
		if j < 0 {
			ends = append(ends, int64(len(data)))
			break
		}
		pos += j + len(sep)
		ends = append(ends, int64(pos))
	}
	return ends
}

// Records splits data into records as the split package defines them:
// each ends just after a separator found by a left-to-right scan that takes
// the leftmost match, and a last record may lack the separator. Records
// keep their separators, so they concatenate back to data.
func Records(data, sep []byte) [][]byte {
	var recs [][]byte
	var start int64
	for _, e := range recordEnds(data, sep) {
		recs = append(recs, data[start:e])
		start = e
	}
	return recs
}

func countRecords(data, sep []byte) int64 { return int64(len(recordEnds(data, sep))) }

// clip shortens b for error messages.
func clip(b []byte) []byte {
	const max = 64
	if len(b) <= max {
		return b
	}
	return append(bytes.Clone(b[:max]), "..."...)
}
