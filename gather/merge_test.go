package gather

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeEqualsSort(t *testing.T) {
	numeric := func(a, b []byte) int {
		x, _ := strconv.Atoi(string(a))
		y, _ := strconv.Atoi(string(b))
		return cmp.Compare(x, y)
	}
	cases := []struct {
		name   string
		chunks int
		lines  int
		fanIn  int
		budget int64
		cmp    func(a, b []byte) int
	}{
		{name: "few chunks", chunks: 3, lines: 50, cmp: bytes.Compare},
		{name: "many chunks one pass", chunks: 100, lines: 40, cmp: bytes.Compare},
		{name: "many chunks three passes", chunks: 100, lines: 40, fanIn: 5, cmp: bytes.Compare},
		{name: "spilled passes", chunks: 60, lines: 300, fanIn: 4, budget: 16 << 10, cmp: bytes.Compare},
		{name: "numeric order", chunks: 20, lines: 100, fanIn: 3, cmp: numeric},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(tc.chunks)))
			tmp := t.TempDir()
			var buf bytes.Buffer
			g := Merge(&buf, tc.cmp, &Options{FanIn: tc.fanIn, MemoryBudget: tc.budget, TempDir: tmp})
			var all [][]byte
			order := r.Perm(tc.chunks)
			for _, i := range order {
				nl := r.IntN(tc.lines + 1)
				chunk := make([][]byte, nl)
				for j := range chunk {
					chunk[j] = []byte(strconv.Itoa(r.IntN(100000)))
				}
				slices.SortStableFunc(chunk, tc.cmp)
				all = append(all, chunk...)
				var b bytes.Buffer
				for _, l := range chunk {
					b.Write(l)
					b.WriteByte('\n')
				}
				doStep(t, g, step{index: i, data: b.String()})
			}
			require.NoError(t, g.Close(tc.chunks, nil))
			slices.SortStableFunc(all, tc.cmp)
			got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			require.Len(t, got, len(all))
			for i := range all {
				require.Zero(t, tc.cmp(all[i], []byte(got[i])), "line %d: %s vs %s", i, all[i], got[i])
			}
			assertNoFiles(t, tmp)
			assert.Zero(t, g.b.used.Load())
		})
	}
}

func TestMergeStableAndLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than any reader buffer
	byFirstByte := func(a, b []byte) int { return cmp.Compare(a[0], b[0]) }
	var buf bytes.Buffer
	g := Merge(&buf, byFirstByte, &Options{MemoryBudget: 100 << 10, TempDir: t.TempDir()})
	doStep(t, g, step{index: 1, data: "a1\nb" + long + "\nc1"}) // no final newline
	doStep(t, g, step{index: 0, data: "a0\nb0\n"})
	doStep(t, g, step{index: 2, data: ""})
	require.NoError(t, g.Close(3, nil))
	assert.Equal(t, "a0\na1\nb0\nb"+long+"\nc1\n", buf.String())
}

func TestMergeErrors(t *testing.T) {
	cases := []struct {
		name    string
		steps   []step
		n       int
		wantErr error
		wantMsg string
	}{
		{name: "unsorted chunk", steps: []step{{index: 0, data: "a\nb\n"}, {index: 1, data: "a\nc\nb\n"}}, n: 2, wantErr: ErrUnsorted, wantMsg: "chunk 1 line 3"},
		{name: "missing chunk", steps: []step{{index: 1, data: "a\n"}}, n: 2, wantErr: ErrIncomplete, wantMsg: "chunk 0 of 2"},
		{name: "writer fails", steps: []step{{index: 0, data: strings.Repeat("a\n", 100<<10)}}, n: 1, wantErr: errBoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &failWriter{ok: 1000}
			tmp := t.TempDir()
			g := Merge(w, bytes.Compare, &Options{TempDir: tmp, MemoryBudget: -1})
			for _, s := range tc.steps {
				doStep(t, g, s)
			}
			err := g.Close(tc.n, nil)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Contains(t, err.Error(), tc.wantMsg)
			assertNoFiles(t, tmp)
		})
	}
}

// MergeFile publishes by rename at a successful Close and leaves the
// destination untouched, with no temporary file, when the run fails.
func TestMergeFileLeavesDestinationOnFailure(t *testing.T) {
	cases := []struct {
		name    string
		steps   []step
		n       int
		runErr  error
		wantErr error
		want    string // content of path after Close
	}{
		{name: "success replaces", steps: []step{{index: 1, data: "b\nd\n"}, {index: 0, data: "a\nc\n"}}, n: 2, want: "a\nb\nc\nd\n"},
		{name: "run failed", steps: []step{{index: 0, data: "a\n"}}, n: 1, runErr: errRun, wantErr: errRun, want: "old content"},
		{name: "missing chunk", steps: []step{{index: 0, data: "a\n"}}, n: 2, wantErr: ErrIncomplete, want: "old content"},
		{name: "unsorted chunk", steps: []step{{index: 0, data: "b\na\n"}}, n: 1, wantErr: ErrUnsorted, want: "old content"},
		{name: "zero chunks", n: 0, want: ""},
	}
	for _, tc := range cases {
		for _, bud := range []int64{0, -1} {
			t.Run(tc.name+"/budget="+strconv.FormatInt(bud, 10), func(t *testing.T) {
				dir, spill := t.TempDir(), t.TempDir()
				path := filepath.Join(dir, "sorted")
				require.NoError(t, os.WriteFile(path, []byte("old content"), 0o600))
				g, err := MergeFile(path, bytes.Compare, &Options{MemoryBudget: bud, TempDir: spill, Perm: 0o640})
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
					assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
				}
				got, err = os.ReadFile(path)
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(got))
				assert.Equal(t, []string{"sorted"}, dirNames(t, dir), "no temporary file left")
				assertNoFiles(t, spill)
				require.ErrorIs(t, g.Close(tc.n, nil), ErrClosed)
			})
		}
	}
}
