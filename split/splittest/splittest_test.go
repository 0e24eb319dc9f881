package splittest_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/split"
	"dproc/split/splittest"
)

// chunk describes a chunk to yield: its data and the values to claim.
type chunk struct {
	index   int
	offset  int64
	data    string
	size    int64 // -2: len(data)
	records int64
}

// fake yields the given chunks.
func fake(chunks ...chunk) split.Splitter {
	return split.SplitterFunc(func(ctx context.Context, yield func(split.Chunk) error) error {
		for _, c := range chunks {
			data := c.data
			size := c.size
			if size == -2 {
				size = int64(len(data))
			}
			open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil }
			if err := yield(split.NewChunk(c.index, c.offset, size, c.records, open, nil)); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestCheck(t *testing.T) {
	const input = "ab\ncd\nef"
	tests := []struct {
		name    string
		s       split.Splitter
		header  bool
		input   string
		wantErr string
	}{
		{"good", fake(chunk{0, 0, "ab\ncd\n", -2, 2}, chunk{1, 6, "ef", -2, 1}), false, input, ""},
		{"good without offsets or counts", fake(chunk{0, -1, "ab\n", -2, -1}, chunk{1, -1, "cd\nef", -2, -1}), false, input, ""},
		{"one chunk", fake(chunk{0, 0, input, -2, 3}), false, input, ""},
		{"empty input, no chunk", fake(), false, "", ""},
		{"boundary inside a record", fake(chunk{0, 0, "ab\nc", -2, -1}, chunk{1, 4, "d\nef", -2, -1}), false, input, "inside a record"},
		{"index gap", fake(chunk{0, 0, "ab\n", -2, 1}, chunk{2, 3, "cd\nef", -2, 2}), false, input, "Index 2"},
		{"index from 1", fake(chunk{1, 0, input, -2, 3}), false, input, "Index 1"},
		{"wrong offset", fake(chunk{0, 0, "ab\n", -2, 1}, chunk{1, 2, "cd\nef", -2, 2}), false, input, "Offset 2"},
		{"wrong size", fake(chunk{0, 0, input, 3, 3}), false, input, "Size is 3"},
		{"wrong records", fake(chunk{0, 0, input, -2, 2}), false, input, "Records 2"},
		{"missing tail", fake(chunk{0, 0, "ab\n", -2, 1}), false, input, "cover 3 bytes of 8"},
		{"data differs", fake(chunk{0, 0, "ab\nXX\nef", -2, 3}), false, input, "is not the input"},
		{"empty chunk", fake(chunk{0, 0, "", -2, 0}, chunk{1, 0, input, -2, 3}), false, input, "empty"},
		{"chunk for empty input", fake(chunk{0, 0, "", -2, 0}), false, "", "empty"},
		{"good header", fake(chunk{0, 3, "ab\ncd\n", -2, 1}, chunk{1, 6, "ab\nef", -2, 1}), true, input, ""},
		{"missing header", fake(chunk{0, 3, "ab\ncd\n", -2, 1}, chunk{1, 6, "ef", -2, 1}), true, input, "header"},
		{"header-only input yields a chunk", fake(chunk{0, 3, "ab\n", -2, 0}), true, "ab\n", "only a header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := splittest.Check
			if tt.header {
				check = splittest.CheckHeader
			}
			err := check(tt.s, []byte(tt.input), []byte("\n"))
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestCheckSplitError(t *testing.T) {
	s := split.SplitterFunc(func(context.Context, func(split.Chunk) error) error { return io.ErrUnexpectedEOF })
	err := splittest.Check(s, []byte("a\n"), []byte("\n"))
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestCheckRereading catches chunks that cannot be read twice, or whose
// readers share a position.
func TestCheckRereading(t *testing.T) {
	input := []byte("hello world\n")
	once := split.SplitterFunc(func(ctx context.Context, yield func(split.Chunk) error) error {
		var opened atomic.Int32
		open := func() (io.ReadCloser, error) {
			if opened.Add(1) > 1 {
				return io.NopCloser(strings.NewReader("")), nil
			}
			return io.NopCloser(bytes.NewReader(input)), nil
		}
		return yield(split.NewChunk(0, 0, int64(len(input)), 1, open, nil))
	})
	err := splittest.Check(once, input, []byte("\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "different bytes")

	shared := split.SplitterFunc(func(ctx context.Context, yield func(split.Chunk) error) error {
		r := bytes.NewReader(input)
		open := func() (io.ReadCloser, error) { return io.NopCloser(r), nil }
		return yield(split.NewChunk(0, 0, int64(len(input)), 1, open, nil))
	})
	err = splittest.Check(shared, input, []byte("\n"))
	require.Error(t, err)
}

func TestCheckReleases(t *testing.T) {
	var released atomic.Int32
	s := split.SplitterFunc(func(ctx context.Context, yield func(split.Chunk) error) error {
		open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("a\n")), nil }
		return yield(split.NewChunk(0, 0, 2, 1, open, func() { released.Add(1) }))
	})
	require.NoError(t, splittest.Check(s, []byte("a\n"), []byte("\n")))
	assert.Equal(t, int32(2), released.Load(), "each chunk is released twice")
}

func TestRecords(t *testing.T) {
	tests := []struct {
		data, sep string
		want      []string
	}{
		{"", "\n", nil},
		{"a", "\n", []string{"a"}},
		{"a\nb\n", "\n", []string{"a\n", "b\n"}},
		{"\n\n\n", "\n\n", []string{"\n\n", "\n"}},
		{"ababa", "aba", []string{"aba", "ba"}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range splittest.Records([]byte(tt.data), []byte(tt.sep)) {
			got = append(got, string(r))
		}
		assert.Equal(t, tt.want, got, "%q by %q", tt.data, tt.sep)
	}
}
