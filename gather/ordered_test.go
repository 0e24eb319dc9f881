package gather

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(ents)
}

func TestOrderedSpill(t *testing.T) {
	cases := []struct {
		name      string
		budget    int64
		size      int // bytes per chunk
		wantSpill int // spill files while chunks 1..3 are held
	}{
		{name: "all in memory", budget: 1 << 20, size: 10 << 10, wantSpill: 0},
		{name: "budget for one chunk", budget: 80 << 10, size: 60 << 10, wantSpill: 2},
		{name: "tiny budget", budget: 1, size: 100, wantSpill: 3},
		{name: "no memory", budget: -1, size: 200 << 10, wantSpill: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			var buf bytes.Buffer
			g := Ordered(&buf, &Options{MemoryBudget: tc.budget, TempDir: tmp})
			var want []string
			for i := range 4 {
				want = append(want, strings.Repeat(string(rune('a'+i)), tc.size))
			}
			for _, i := range []int{3, 1, 2} {
				doStep(t, g, step{index: i, data: want[i]})
			}
			assert.Equal(t, tc.wantSpill, countFiles(t, tmp))
			assert.LessOrEqual(t, g.c.b.used.Load(), max(tc.budget, 0))
			assert.Zero(t, buf.Len(), "nothing is due before chunk 0")

			doStep(t, g, step{index: 0, data: want[0]})
			assert.Equal(t, strings.Join(want, ""), buf.String(), "chunk 0 flushes the held ones")
			assert.Zero(t, countFiles(t, tmp), "spill files removed once written")
			assert.Zero(t, g.c.b.used.Load(), "memory released once written")
			require.NoError(t, g.Close(4, nil))
		})
	}
}

func TestSpillRemovedOnDiscardAndFailure(t *testing.T) {
	tmp := t.TempDir()
	var buf bytes.Buffer
	g := Ordered(&buf, &Options{MemoryBudget: -1, TempDir: tmp})
	o, err := g.Output(0)
	require.NoError(t, err)
	_, err = io.WriteString(o, "discarded")
	require.NoError(t, err)
	assert.Equal(t, 1, countFiles(t, tmp), "writing spills")
	o.Discard()
	assert.Zero(t, countFiles(t, tmp))

	doStep(t, g, step{index: 2, data: "held"})
	assert.Equal(t, 1, countFiles(t, tmp))
	require.ErrorIs(t, g.Close(3, errRun), errRun)
	assert.Zero(t, countFiles(t, tmp), "Close drops held outputs")
	assert.Zero(t, buf.Len())
}

var errBoom = errors.New("boom")

// failWriter accepts ok bytes, then fails.
type failWriter struct {
	ok  int
	got bytes.Buffer
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.got.Len()+len(p) > w.ok {
		n := w.ok - w.got.Len()
		w.got.Write(p[:n])
		return n, errBoom
	}
	return w.got.Write(p)
}

func TestOrderedWriterError(t *testing.T) {
	for _, budget := range []int64{0, -1} {
		tmp := t.TempDir()
		w := &failWriter{ok: 5}
		g := Ordered(w, &Options{MemoryBudget: budget, TempDir: tmp})
		doStep(t, g, step{index: 2, data: "ccc"})
		doStep(t, g, step{index: 0, data: "aaa"})
		late, err := g.Output(3)
		require.NoError(t, err)
		doStep(t, g, step{index: 1, data: "bbb", wantErr: errBoom}) // writes b, b, c...: fails
		assert.Equal(t, "aaabb", w.got.String())
		_, err = io.WriteString(late, "ddd")
		require.NoError(t, err)
		require.ErrorIs(t, late.Commit(), errBoom, "a later commit returns the error")
		_, err = g.Output(4)
		require.ErrorIs(t, err, errBoom)
		err = g.Close(5, nil)
		require.ErrorIs(t, err, errBoom)
		assert.Contains(t, err.Error(), "chunk 1")
		assert.Zero(t, countFiles(t, tmp))
		assert.Zero(t, g.c.b.used.Load())
	}
}

func TestFileLeavesDestinationOnFailure(t *testing.T) {
	cases := []struct {
		name    string
		steps   []step
		n       int
		runErr  error
		wantErr error
		want    string // content of path after Close
	}{
		{name: "success replaces", steps: []step{{index: 1, data: "new\n"}, {index: 0, data: "brand "}}, n: 2, want: "brand new\n"},
		{name: "run failed", steps: []step{{index: 0, data: "new"}}, n: 2, runErr: errRun, wantErr: errRun, want: "old content"},
		{name: "missing chunk", steps: []step{{index: 0, data: "new"}}, n: 2, wantErr: ErrIncomplete, want: "old content"},
		{name: "zero chunks", n: 0, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "result")
			require.NoError(t, os.WriteFile(path, []byte("old content"), 0o600))
			g, err := File(path, nil)
			require.NoError(t, err)
			for _, s := range tc.steps {
				doStep(t, g, s)
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "old content", string(got), "untouched during the run")

			err = g.Close(tc.n, tc.runErr)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				fi, err := os.Stat(path)
				require.NoError(t, err)
				assert.Equal(t, DefaultPerm, fi.Mode().Perm())
			}
			got, err = os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
			assert.Equal(t, 1, countFiles(t, dir), "no temporary file left")
		})
	}
}

func TestFileErrors(t *testing.T) {
	_, err := File(filepath.Join(t.TempDir(), "no", "such", "dir", "out"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)

	dir := t.TempDir()
	g, err := File(filepath.Join(dir, "out"), &Options{Perm: 0o600})
	require.NoError(t, err)
	doStep(t, g, step{index: 0, data: "x"})
	require.NoError(t, g.Close(1, nil))
	fi, err := os.Stat(filepath.Join(dir, "out"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
