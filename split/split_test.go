package split_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/gather"
	"dproc/split"
)

var edgeInputs = []struct {
	name  string
	input string
}{
	{"empty", ""},
	{"one separator", "\n"},
	{"only separators", "\n\n\n\n\n"},
	{"only CRLF", "\r\n\r\n\r\n"},
	{"one record", "hello\n"},
	{"one record no newline", "hello"},
	{"no trailing newline", "a\nbb\nccc"},
	{"five records", "a\nb\nc\nd\ne\n"},
	{"CRLF lines", "id,name\r\n1,ann\r\n2,bob\r\n3,cy\r\n"},
	{"NUL records", "a\x00b b\x00\x00c\nd\x00"},
	{"mixed separators", "ab\nab\r\n\n\nabababa\x00ba\n\nx"},
	{"huge record", strings.Repeat("x", 5000) + "\nsmall\n" + strings.Repeat("y", 3000)},
	{"paragraphs", "p1 l1\np1 l2\n\np2\n\n\np3\n\n"},
	{"header only", "h1,h2\n"},
	{"header no newline", "h1,h2"},
}

func TestSplittersEdgeCases(t *testing.T) {
	for _, in := range edgeInputs {
		for _, sep := range separators {
			for _, header := range []bool{false, true} {
				input := []byte(in.input)
				opts := &split.Options{Separator: []byte(sep), Header: header}
				name := in.name + "/" + strings.NewReplacer("\n", `\n`, "\r", `\r`, "\x00", `\0`).Replace(sep)
				if header {
					name += "/header"
				}
				t.Run(name, func(t *testing.T) {
					for _, n := range []int{1, 2, 3, 5, 7, 100} {
						s := split.Even(bytes.NewReader(input), int64(len(input)), n, opts)
						require.NoError(t, check(s, input, sep, header), "Even n=%d", n)
						require.NoError(t, checkEven(collect(t, s), input, sep, header, n), "Even n=%d", n)
					}
					for _, block := range []int64{1, 2, 3, 10, 4096, 1 << 20} {
						s := split.Blocks(bytes.NewReader(input), int64(len(input)), block, opts)
						require.NoError(t, check(s, input, sep, header), "Blocks block=%d", block)
						require.NoError(t, checkBlocks(collect(t, s), input, sep, header, block), "Blocks block=%d", block)
						for _, budget := range []int64{0, -1} {
							sopts := *opts
							sopts.MemoryBudget, sopts.TempDir = budget, t.TempDir()
							mk := func() split.Splitter {
								return split.Stream(iotest.OneByteReader(bytes.NewReader(input)), block, &sopts)
							}
							s := mk()
							require.NoError(t, check(s, input, sep, header), "Stream block=%d budget=%d", block, budget)
							require.NoError(t, s.(io.Closer).Close())
							s = mk()
							require.NoError(t, checkBlocks(collect(t, s), input, sep, header, block), "Stream block=%d", block)
							require.NoError(t, s.(io.Closer).Close())
							assertEmptyDir(t, sopts.TempDir)
						}
					}
				})
			}
		}
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "files left in %s", dir)
}

func chunkData(chunks []got) []string {
	var out []string
	for _, c := range chunks {
		out = append(out, string(c.data))
	}
	return out
}

func TestEven(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		n       int
		opts    *split.Options
		want    []string
		records []int64
		offsets []int64
	}{
		{"n divides", "a\nb\nc\nd\n", 2, nil, []string{"a\nb\n", "c\nd\n"}, []int64{2, 2}, []int64{0, 4}},
		{"extra to the first chunks", "a\nb\nc\nd\ne\n", 3, nil, []string{"a\nb\n", "c\nd\n", "e\n"}, []int64{2, 2, 1}, []int64{0, 4, 8}},
		{"n = records", "a\nb\nc\n", 3, nil, []string{"a\n", "b\n", "c\n"}, []int64{1, 1, 1}, []int64{0, 2, 4}},
		{"n > records", "a\nb\n", 5, nil, []string{"a\n", "b\n"}, []int64{1, 1}, []int64{0, 2}},
		{"one chunk", "a\nb\nc", 1, nil, []string{"a\nb\nc"}, []int64{3}, []int64{0}},
		{"last record kept", "a\nb\nc", 2, nil, []string{"a\nb\n", "c"}, []int64{2, 1}, []int64{0, 4}},
		{"empty lines are records", "\n\n\n", 3, nil, []string{"\n", "\n", "\n"}, []int64{1, 1, 1}, []int64{0, 1, 2}},
		{"empty", "", 3, nil, nil, nil, nil},
		{"header CRLF", "id,v\r\n1,a\r\n2,b\r\n3,c", 2, &split.Options{Header: true, Separator: []byte("\r\n")},
			[]string{"id,v\r\n1,a\r\n2,b\r\n", "id,v\r\n3,c"}, []int64{2, 1}, []int64{6, 16}},
		{"header with LF separator keeps CR", "id\r\n1\r\n2\r\n", 2, &split.Options{Header: true},
			[]string{"id\r\n1\r\n", "id\r\n2\r\n"}, []int64{1, 1}, []int64{4, 7}},
		{"header only", "id,v\n", 2, &split.Options{Header: true}, nil, nil, nil},
		{"NUL separator", "a\x00b\nc\x00d", 2, &split.Options{Separator: []byte{0}}, []string{"a\x00b\nc\x00", "d"}, []int64{2, 1}, []int64{0, 6}},
		{"paragraphs", "a\nb\n\nc\n\n\nd", 2, &split.Options{Separator: []byte("\n\n")},
			[]string{"a\nb\n\nc\n\n", "\nd"}, []int64{2, 1}, []int64{0, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.input)
			chunks := collect(t, split.Even(bytes.NewReader(in), int64(len(in)), tt.n, tt.opts))
			assert.Equal(t, tt.want, chunkData(chunks))
			var records, offsets []int64
			for _, c := range chunks {
				records = append(records, c.Records)
				offsets = append(offsets, c.Offset)
				assert.Equal(t, int64(len(c.data)), c.Size)
			}
			assert.Equal(t, tt.records, records)
			assert.Equal(t, tt.offsets, offsets)
		})
	}
}

func TestBlocks(t *testing.T) {
	tests := []struct {
		name  string
		input string
		block int64
		opts  *split.Options
		want  []string
	}{
		{"record reaching the block ends the chunk", "aaa\nbb\nc\n", 2, nil, []string{"aaa\n", "bb\n", "c\n"}},
		{"exact block", "aaa\nbb\nc\n", 4, nil, []string{"aaa\n", "bb\nc\n"}},
		{"block inside the second record", "aaa\nbb\nc\n", 5, nil, []string{"aaa\nbb\n", "c\n"}},
		{"whole input", "aaa\nbb\nc\n", 100, nil, []string{"aaa\nbb\nc\n"}},
		{"huge record stays whole", "x\n" + strings.Repeat("y", 50) + "\nz", 4, nil, []string{"x\n" + strings.Repeat("y", 50) + "\n", "z"}},
		{"CRLF separator spanning the block end", "ab\r\ncd\r\n", 3, &split.Options{Separator: []byte("\r\n")}, []string{"ab\r\n", "cd\r\n"}},
		{"header", "h\naa\nbb\ncc\n", 3, &split.Options{Header: true}, []string{"h\naa\n", "h\nbb\n", "h\ncc\n"}},
		{"bordered separator", "a\n\n\nb\n\nc", 3, &split.Options{Separator: []byte("\n\n")}, []string{"a\n\n", "\nb\n\n", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.input)
			chunks := collect(t, split.Blocks(bytes.NewReader(in), int64(len(in)), tt.block, tt.opts))
			assert.Equal(t, tt.want, chunkData(chunks))
			for _, c := range chunks {
				assert.Equal(t, int64(-1), c.Records)
			}
			sopts := split.Options{}
			if tt.opts != nil {
				sopts = *tt.opts
			}
			sopts.TempDir = t.TempDir()
			s := split.Stream(bytes.NewReader(in), tt.block, &sopts)
			defer s.Close()
			assert.Equal(t, tt.want, chunkData(collect(t, s)), "Stream")
		})
	}
}

func TestBlockSizeFor(t *testing.T) {
	tests := []struct {
		size  int64
		slots int
		want  int64
	}{
		{0, 4, split.MinBlockSize},
		{100, 1, split.MinBlockSize},
		{10 << 20, 4, 10 << 20 / 4},
		{10<<20 + 1, 4, 10<<20/4 + 1},
		{1 << 30, 3, split.MaxBlockSize},
		{1 << 20, 0, 1 << 20},
		{1 << 20, -5, 1 << 20},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, split.BlockSizeFor(tt.size, tt.slots), "size %d slots %d", tt.size, tt.slots)
	}
}

// TestSeparatorAcrossReads uses an input larger than the read buffer, with
// records of many lengths, so that separators straddle every kind of read
// boundary.
func TestSeparatorAcrossReads(t *testing.T) {
	for _, sep := range []string{"\n", "\r\n", "\n\n", "aba"} {
		var b bytes.Buffer
		for i := 0; b.Len() < 3<<20; i++ {
			b.WriteString(strings.Repeat("x", i%301))
			b.WriteString(sep)
		}
		b.WriteString("tail")
		input := b.Bytes()
		opts := &split.Options{Separator: []byte(sep)}
		for _, n := range []int{1, 7, 64} {
			s := split.Even(bytes.NewReader(input), int64(len(input)), n, opts)
			require.NoError(t, check(s, input, sep, false), "Even %q n=%d", sep, n)
			require.NoError(t, checkEven(collect(t, s), input, sep, false, n), "Even %q n=%d", sep, n)
		}
		for _, block := range []int64{1000, 100 << 10, 1 << 20} {
			s := split.Blocks(bytes.NewReader(input), int64(len(input)), block, opts)
			require.NoError(t, check(s, input, sep, false), "Blocks %q block=%d", sep, block)
			require.NoError(t, checkBlocks(collect(t, s), input, sep, false, block), "Blocks %q", sep)
			st := split.Stream(&chunkyReader{bytes.NewReader(input), 4093}, block, &split.Options{Separator: []byte(sep), TempDir: t.TempDir()})
			require.NoError(t, check(st, input, sep, false), "Stream %q block=%d", sep, block)
			require.NoError(t, st.Close())
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	in := bytes.NewReader([]byte("a\n"))
	tests := []struct {
		name string
		s    split.Splitter
	}{
		{"Even n=0", split.Even(in, 2, 0, nil)},
		{"Even n<0", split.Even(in, 2, -1, nil)},
		{"Even nil input", split.Even(nil, 2, 1, nil)},
		{"Even negative size", split.Even(in, -1, 1, nil)},
		{"Even empty separator", split.Even(in, 2, 1, &split.Options{Separator: []byte{}})},
		{"Blocks block=0", split.Blocks(in, 2, 0, nil)},
		{"Blocks nil input", split.Blocks(nil, 2, 1, nil)},
		{"Stream block=0", split.Stream(in, 0, nil)},
		{"Stream nil input", split.Stream(nil, 1, nil)},
		{"Items perChunk=0", split.Items([]string{"a"}, 0, nil)},
		{"Items item with separator", split.Items([]string{"a", "b\nc"}, 1, nil)},
		{"Items item with NUL separator", split.Items([]string{"a\x00"}, 1, &split.Options{Separator: []byte{0}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			err := tt.s.Split(context.Background(), func(split.Chunk) error { called = true; return nil })
			assert.ErrorIs(t, err, split.ErrInvalid)
			assert.ErrorIs(t, err, gather.ErrInvalid, "one ErrInvalid across packages")
			assert.True(t, strings.HasPrefix(err.Error(), "split: "), "%q names its package", err)
			assert.Equal(t, 1, strings.Count(err.Error(), "split:"), "%q names its package once", err)
			assert.False(t, called, "yield called")
		})
	}
}

// splitters returns one splitter of each kind over input, which yields
// several chunks.
func splitters(t *testing.T, input []byte) map[string]split.Splitter {
	items := strings.Split(strings.TrimSuffix(string(input), "\n"), "\n")
	return map[string]split.Splitter{
		"Even":   split.Even(bytes.NewReader(input), int64(len(input)), 5, nil),
		"Blocks": split.Blocks(bytes.NewReader(input), int64(len(input)), 10, nil),
		"Stream": split.Stream(bytes.NewReader(input), 10, &split.Options{TempDir: t.TempDir()}),
		"Items":  split.Items(items, 2, nil),
	}
}

func TestYieldErrorStopsSplit(t *testing.T) {
	input := lines(1000)
	boom := errors.New("boom")
	for name, s := range splitters(t, input) {
		t.Run(name, func(t *testing.T) {
			calls := 0
			err := s.Split(context.Background(), func(split.Chunk) error {
				calls++
				if calls == 2 {
					return boom
				}
				return nil
			})
			assert.ErrorIs(t, err, boom)
			assert.Equal(t, 2, calls)
			if c, ok := s.(io.Closer); ok {
				assert.NoError(t, c.Close())
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	input := lines(1000)
	for name, s := range splitters(t, input) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			calls := 0
			err := s.Split(ctx, func(split.Chunk) error {
				calls++
				cancel()
				return nil
			})
			assert.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, 1, calls)
			if c, ok := s.(io.Closer); ok {
				assert.NoError(t, c.Close())
			}
		})
	}
	t.Run("canceled before Split", func(t *testing.T) {
		for name, s := range splitters(t, input) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := s.Split(ctx, func(split.Chunk) error { return nil })
			assert.ErrorIs(t, err, context.Canceled, name)
			if c, ok := s.(io.Closer); ok {
				assert.NoError(t, c.Close())
			}
		}
	})
}

func TestItems(t *testing.T) {
	tests := []struct {
		name     string
		items    []string
		perChunk int
		opts     *split.Options
		want     []string
		records  []int64
	}{
		{"pairs", []string{"a", "b", "c"}, 2, nil, []string{"a\nb\n", "c\n"}, []int64{2, 1}},
		{"one per chunk", []string{"x y", "z"}, 1, nil, []string{"x y\n", "z\n"}, []int64{1, 1}},
		{"more than items", []string{"a", "b"}, 10, nil, []string{"a\nb\n"}, []int64{2}},
		{"empty list", nil, 3, nil, nil, nil},
		{"empty items are records", []string{"", ""}, 1, nil, []string{"\n", "\n"}, []int64{1, 1}},
		{"NUL names with newlines", []string{"a\nb", "c"}, 1, &split.Options{Separator: []byte{0}}, []string{"a\nb\x00", "c\x00"}, []int64{1, 1}},
		{"header", []string{"name", "a", "b", "c"}, 2, &split.Options{Header: true}, []string{"name\na\nb\n", "name\nc\n"}, []int64{2, 1}},
		{"header only", []string{"name"}, 2, &split.Options{Header: true}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := split.Items(tt.items, tt.perChunk, tt.opts)
			chunks := collect(t, s)
			assert.Equal(t, tt.want, chunkData(chunks))
			var records []int64
			for _, c := range chunks {
				records = append(records, c.Records)
				assert.Equal(t, int64(-1), c.Offset)
			}
			assert.Equal(t, tt.records, records)
			sep := "\n"
			header := tt.opts != nil && tt.opts.Header
			if tt.opts != nil && tt.opts.Separator != nil {
				sep = string(tt.opts.Separator)
			}
			var joined []byte
			for _, it := range tt.items {
				joined = append(append(joined, it...), sep...)
			}
			assert.NoError(t, check(s, joined, sep, header))
		})
	}
}

func TestFiles(t *testing.T) {
	input := lines(300 << 10)
	path := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(path, input, 0o600))

	e, closer, err := split.EvenFile(path, 3, nil)
	require.NoError(t, err)
	assert.NoError(t, check(e, input, "\n", false))
	assert.Len(t, collect(t, e), 3)
	require.NoError(t, closer.Close())

	b, closer, err := split.BlocksFile(path, 100<<10, nil)
	require.NoError(t, err)
	assert.NoError(t, check(b, input, "\n", false))
	assert.Len(t, collect(t, b), 3)
	require.NoError(t, closer.Close())

	b, closer, err = split.BlocksFile(path, 0, nil)
	require.NoError(t, err)
	assert.Len(t, collect(t, b), 1, "block 0 means one block of at most MaxBlockSize")
	require.NoError(t, closer.Close())

	_, _, err = split.EvenFile(filepath.Join(t.TempDir(), "missing"), 3, nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, _, err = split.BlocksFile(filepath.Join(t.TempDir(), "missing"), 3, nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestTruncatedInput(t *testing.T) {
	r := bytes.NewReader([]byte("a\nb\n")) // claimed to hold 100 bytes
	for name, s := range map[string]split.Splitter{
		"Even":   split.Even(r, 100, 2, nil),
		"Blocks": split.Blocks(r, 100, 1, nil),
	} {
		err := s.Split(context.Background(), func(split.Chunk) error { return nil })
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, name)
	}
}
