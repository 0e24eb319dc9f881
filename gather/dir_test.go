package gather

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func listDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	files := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = string(b)
	}
	return files
}

func TestDirPublishesAtClose(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		n       int
		runErr  error
		steps   []step
		wantErr error
		want    map[string]string
	}{
		{
			name:  "default pattern",
			n:     2,
			steps: []step{{index: 1, data: "one"}, {index: 0, data: "zero"}, {index: 0, data: "dup", wantErr: ErrDuplicate}},
			want:  map[string]string{"chunk-000000.out": "zero", "chunk-000001.out": "one", "keep.txt": "mine", "chunk-000005.out": "old"},
		},
		{
			name:    "own pattern replaces old files",
			pattern: "part-%d.txt",
			n:       2,
			steps:   []step{{index: 0, data: "a"}, {index: 1, data: "b"}},
			want:    map[string]string{"part-0.txt": "a", "part-1.txt": "b", "keep.txt": "mine", "chunk-000005.out": "old"},
		},
		{
			name:    "failure leaves the directory as it was",
			n:       6,
			runErr:  errRun,
			steps:   []step{{index: 5, data: "new"}, {index: 0, data: "a"}},
			wantErr: errRun,
			want:    map[string]string{"keep.txt": "mine", "chunk-000005.out": "old"},
		},
		{
			name:    "missing chunk",
			n:       6,
			steps:   []step{{index: 5, data: "new"}, {index: 0, data: "a", discard: true}},
			wantErr: ErrIncomplete,
			want:    map[string]string{"keep.txt": "mine", "chunk-000005.out": "old"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "chunk-000005.out"), []byte("old"), 0o644))
			g, err := Dir(dir, &Options{Pattern: tc.pattern, NoSync: true})
			require.NoError(t, err)
			for _, s := range tc.steps {
				doStep(t, g, s)
			}
			assert.Len(t, listDir(t, dir), 2+len(tc.steps)-countDiscards(tc.steps), "only temporary files before Close")
			err = g.Close(tc.n, tc.runErr)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, listDir(t, dir))
		})
	}
}

func countDiscards(steps []step) int {
	n := 0
	for _, s := range steps {
		if s.discard || s.wantErr != nil {
			n++
		}
	}
	return n
}

func TestDirOptions(t *testing.T) {
	for _, p := range []string{"fixed.out", "%s.out", "%d-%d", "sub/%d", "%d/x"} {
		_, err := Dir(t.TempDir(), &Options{Pattern: p})
		require.ErrorIs(t, err, ErrInvalid, "pattern %q", p)
	}
	dir := filepath.Join(t.TempDir(), "new", "dir")
	g, err := Dir(dir, &Options{Perm: 0o600})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "chunk-000007.out"), g.Name(7))
	doStep(t, g, step{index: 0, data: "x"})
	require.NoError(t, g.Close(1, nil))
	fi, err := os.Stat(g.Name(0))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
