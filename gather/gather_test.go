package gather

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kind builds one gatherer under test and knows what it should produce.
type kind struct {
	name string
	// make returns the gatherer and a function reading its result: the
	// published bytes, and whether anything was published at all.
	make func(t *testing.T, opts *Options) (Gatherer, func() (string, bool))
	// expect computes the result from the committed outputs in order.
	expect func(chunks []string) string
	// atomic is true when a failed run publishes nothing.
	atomic bool
}

func concatChunks(chunks []string) string { return strings.Join(chunks, "") }

func lines(s string) []string {
	return strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
}

func mergedChunks(chunks []string) string {
	var all []string
	for _, c := range chunks {
		if c != "" {
			all = append(all, lines(strings.TrimSuffix(c, "\n")+"\n")...)
		}
	}
	for i := range all {
		all[i] = strings.TrimSuffix(all[i], "\n") + "\n"
	}
	slices.Sort(all)
	return strings.Join(all, "")
}

func joinFold(key, acc, value string) (string, error) { return acc + "," + value, nil }

func reducedChunks(chunks []string) string {
	acc := map[string]string{}
	var keys []string
	for _, c := range chunks {
		if c == "" {
			continue
		}
		for _, l := range lines(c) {
			k, v, _ := strings.Cut(strings.TrimSuffix(l, "\n"), "\t")
			if old, ok := acc[k]; ok {
				acc[k] = old + "," + v
			} else {
				acc[k] = v
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\t%s\n", k, acc[k])
	}
	return b.String()
}

func bufferResult(buf *bytes.Buffer) func() (string, bool) {
	return func() (string, bool) { return buf.String(), buf.Len() > 0 }
}

// fileResult reads a published file; a missing file is nothing published.
func fileResult(t *testing.T, path string) func() (string, bool) {
	return func() (string, bool) {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", false
		}
		require.NoError(t, err)
		return string(b), true
	}
}

var kinds = []kind{
	{
		name: "Ordered",
		make: func(t *testing.T, opts *Options) (Gatherer, func() (string, bool)) {
			var buf bytes.Buffer
			return Ordered(&buf, opts), bufferResult(&buf)
		},
		expect: concatChunks,
	},
	{
		name: "File",
		make: func(t *testing.T, opts *Options) (Gatherer, func() (string, bool)) {
			path := filepath.Join(t.TempDir(), "out.txt")
			g, err := File(path, opts)
			require.NoError(t, err)
			return g, fileResult(t, path)
		},
		expect: concatChunks,
		atomic: true,
	},
	{
		name: "Dir",
		make: func(t *testing.T, opts *Options) (Gatherer, func() (string, bool)) {
			dir := t.TempDir()
			g, err := Dir(dir, opts)
			require.NoError(t, err)
			return g, func() (string, bool) {
				ents, err := os.ReadDir(dir)
				require.NoError(t, err)
				var b strings.Builder
				for _, e := range ents { // sorted by name, so by chunk
					data, err := os.ReadFile(filepath.Join(dir, e.Name()))
					require.NoError(t, err)
					b.Write(data)
				}
				return b.String(), len(ents) > 0
			}
		},
		expect: concatChunks,
		atomic: true,
	},
	{
		name: "Merge",
		make: func(t *testing.T, opts *Options) (Gatherer, func() (string, bool)) {
			var buf bytes.Buffer
			return Merge(&buf, bytes.Compare, opts), bufferResult(&buf)
		},
		expect: mergedChunks,
		atomic: true,
	},
	{
		name: "MergeFile",
		make: func(t *testing.T, opts *Options) (Gatherer, func() (string, bool)) {
			path := filepath.Join(t.TempDir(), "sorted.txt")
			g, err := MergeFile(path, bytes.Compare, opts)
			require.NoError(t, err)
			return g, fileResult(t, path)
		},
		expect: mergedChunks,
		atomic: true,
	},
	{
		name: "Reduce",
		make: func(t *testing.T, opts *Options) (Gatherer, func() (string, bool)) {
			var buf bytes.Buffer
			return Reduce(&buf, joinFold, opts), bufferResult(&buf)
		},
		expect: reducedChunks,
		atomic: true,
	},
}

// step is one attempt: write data to an Output of index, then commit it
// (or discard it), and expect wantErr from Commit.
type step struct {
	index   int
	data    string
	discard bool
	wantErr error
}

func doStep(t *testing.T, g Gatherer, s step) {
	t.Helper()
	o, err := g.Output(s.index)
	require.NoError(t, err)
	_, err = io.WriteString(o, s.data)
	require.NoError(t, err)
	if s.discard {
		o.Discard()
		return
	}
	err = o.Commit()
	if s.wantErr == nil {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, s.wantErr)
	}
}

var errRun = errors.New("run failed")

func TestGatherers(t *testing.T) {
	cases := []struct {
		name    string
		steps   []step
		n       int
		runErr  error
		chunks  []string // committed outputs, when Close succeeds
		wantErr error
	}{
		{
			name:   "in order",
			steps:  []step{{index: 0, data: "a\t1\nb\t2\n"}, {index: 1, data: "a\t3\n"}, {index: 2, data: "c\t4\n"}},
			n:      3,
			chunks: []string{"a\t1\nb\t2\n", "a\t3\n", "c\t4\n"},
		},
		{
			name:   "out of order",
			steps:  []step{{index: 2, data: "c\t4\n"}, {index: 0, data: "b\t1\n"}, {index: 3, data: "a\t5\n"}, {index: 1, data: "a\t2\nd\t3\n"}},
			n:      4,
			chunks: []string{"b\t1\n", "a\t2\nd\t3\n", "c\t4\n", "a\t5\n"},
		},
		{
			name: "duplicate commits are dropped",
			steps: []step{
				{index: 1, data: "b\t1\n"}, {index: 1, data: "b\tX\n", wantErr: ErrDuplicate},
				{index: 0, data: "a\t0\n"}, {index: 0, data: "a\tX\n", wantErr: ErrDuplicate},
				{index: 1, data: "b\tY\n", wantErr: ErrDuplicate},
			},
			n:      2,
			chunks: []string{"a\t0\n", "b\t1\n"},
		},
		{
			name: "discard then retry",
			steps: []step{
				{index: 0, data: "a\tbad\n", discard: true}, {index: 1, data: "b\t1\n"},
				{index: 0, data: "a\tgood\n"}, {index: 1, data: "b\tbad\n", discard: true},
			},
			n:      2,
			chunks: []string{"a\tgood\n", "b\t1\n"},
		},
		{
			name:   "empty outputs",
			steps:  []step{{index: 1, data: ""}, {index: 0, data: "a\t1\n"}, {index: 2, data: ""}},
			n:      3,
			chunks: []string{"a\t1\n", "", ""},
		},
		{
			name:   "zero chunks",
			n:      0,
			chunks: []string{},
		},
		{
			name:    "missing chunk",
			steps:   []step{{index: 0, data: "a\t1\n"}, {index: 2, data: "c\t1\n"}},
			n:       3,
			wantErr: ErrIncomplete,
		},
		{
			name:    "missing first chunk",
			steps:   []step{{index: 1, data: "a\t1\n"}},
			n:       2,
			wantErr: ErrIncomplete,
		},
		{
			name:    "chunk past n",
			steps:   []step{{index: 0, data: "a\t1\n"}, {index: 1, data: "b\t1\n"}},
			n:       1,
			wantErr: ErrIncomplete,
		},
		{
			name:    "run failed",
			steps:   []step{{index: 0, data: "a\t1\n"}, {index: 1, data: "b\t1\n"}},
			n:       2,
			runErr:  errRun,
			wantErr: errRun,
		},
		{
			name:    "run failed with nothing committed",
			n:       5,
			runErr:  errRun,
			wantErr: errRun,
		},
	}
	budgets := []struct {
		name   string
		budget int64
	}{{"memory", 0}, {"spill", -1}}
	for _, k := range kinds {
		for _, bud := range budgets {
			for _, tc := range cases {
				t.Run(k.name+"/"+bud.name+"/"+tc.name, func(t *testing.T) {
					tmp := t.TempDir()
					g, result := k.make(t, &Options{MemoryBudget: bud.budget, TempDir: tmp, NoSync: true})
					for _, s := range tc.steps {
						doStep(t, g, s)
					}
					err := g.Close(tc.n, tc.runErr)
					out, published := result()
					if tc.wantErr != nil {
						require.ErrorIs(t, err, tc.wantErr)
						if k.atomic {
							assert.False(t, published, "failed run published %q", out)
						}
					} else {
						require.NoError(t, err)
						assert.Equal(t, k.expect(tc.chunks), out)
					}
					assertNoFiles(t, tmp)
					require.ErrorIs(t, g.Close(tc.n, nil), ErrClosed)
					_, err = g.Output(0)
					require.ErrorIs(t, err, ErrClosed)
				})
			}
		}
	}
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "files left in %s", dir)
}

func TestOutputMisuse(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			g, _ := k.make(t, nil)
			_, err := g.Output(-1)
			require.ErrorIs(t, err, ErrInvalid)

			o, err := g.Output(0)
			require.NoError(t, err)
			_, err = io.WriteString(o, "a\t1\n")
			require.NoError(t, err)
			require.NoError(t, o.Commit())
			_, err = io.WriteString(o, "more")
			require.ErrorIs(t, err, ErrClosed)
			require.ErrorIs(t, o.Commit(), ErrClosed)
			o.Discard() // no effect after Commit

			o, err = g.Output(1)
			require.NoError(t, err)
			o.Discard()
			o.Discard()
			_, err = o.Write([]byte("x"))
			require.ErrorIs(t, err, ErrClosed)
			require.ErrorIs(t, o.Commit(), ErrClosed)
			require.NoError(t, g.Close(1, nil))
		})
	}
}
