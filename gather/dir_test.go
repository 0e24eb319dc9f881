package gather

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/split"
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
		assert.ErrorIs(t, err, split.ErrInvalid, "one ErrInvalid across packages")
		assert.Equal(t, 1, strings.Count(err.Error(), "gather:"), "%q names its package once", err)
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

func TestDirTempNameNamesOwner(t *testing.T) {
	dir := t.TempDir()
	g, err := Dir(dir, &Options{Pattern: "part-%d.txt"})
	require.NoError(t, err)
	o, err := g.Output(3)
	require.NoError(t, err)
	names := dirNames(t, dir)
	require.Len(t, names, 1)
	assert.Regexp(t, "^"+regexp.QuoteMeta(".part-3.txt.tmp-"+strconv.Itoa(os.Getpid())+"-")+"[0-9]+$", names[0])
	pid, ok := tempOwner("part-3.txt", names[0])
	assert.True(t, ok)
	assert.Equal(t, os.Getpid(), pid)
	o.Discard()
	require.NoError(t, g.Close(0, nil))
	assert.Empty(t, dirNames(t, dir))
}

func TestDirRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	dead := strconv.Itoa(deadPid(t))
	live := strconv.Itoa(os.Getppid())
	self := strconv.Itoa(os.Getpid())
	require.True(t, processAlive(os.Getppid()))
	files := map[string]bool{ // name: kept
		".chunk-000003.out.tmp-" + dead + "-1":  false, // a dead owner's: removed
		".chunk-1234567.out.tmp-" + dead + "-2": false, // wider than the padding
		".chunk-000003.out.tmp-" + live + "-3":  true,  // a live process's run
		".chunk-000003.out.tmp-" + self + "-4":  true,  // this process's
		".chunk-000003.out.tmp-123456":          true,  // owner unknown
		".chunk-.out.tmp-" + dead + "-5":        true,  // no number: not the pattern's
		".chunk-3.log.tmp-" + dead + "-6":       true,  // another pattern's
		".out.txt.tmp-" + dead + "-7":           true,  // a File destination's
		".chunk-000003.out.tmp-" + dead + "-x":  true,  // not a name Dir makes
		"chunk-000003.out":                      true,  // a published file
		"keep.txt":                              true,
	}
	for name := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".chunk-000004.out.tmp-"+dead+"-8"), 0o755))
	files[".chunk-000004.out.tmp-"+dead+"-8"] = true // a directory is never removed

	g, err := Dir(dir, &Options{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, g.Close(0, nil))
	var want []string
	for name, kept := range files {
		if kept {
			want = append(want, name)
		}
	}
	assert.ElementsMatch(t, want, dirNames(t, dir))
}

// A process killed in the middle of a Dir run leaves its temporary file;
// the next Dir on the same directory removes it.
func TestDirRemovesTempsOfKilledProcess(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper: %s", stderr.String())
	require.Equal(t, "ready\n", line)

	names := dirNames(t, dir)
	require.Len(t, names, 1)
	pid, ok := tempOwner("chunk-000000.out", names[0])
	require.True(t, ok, names[0])
	assert.Equal(t, cmd.Process.Pid, pid)

	require.NoError(t, cmd.Process.Kill())
	assert.Error(t, cmd.Wait(), "killed")
	assert.Equal(t, names, dirNames(t, dir), "a kill leaves the temporary file")

	g, err := Dir(dir, &Options{NoSync: true})
	require.NoError(t, err)
	assert.Empty(t, dirNames(t, dir), "the next Dir removes it")
	require.NoError(t, g.Close(0, nil))
}

func TestPatternMatcher(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{DefaultPattern, []string{"chunk-000000.out", "chunk-1234567.out"}, []string{"chunk-.out", "chunk-1.outx", "xchunk-1.out", "chunk-1.2.out"}},
		{"part-%d.txt", []string{"part-0.txt", "part-17.txt"}, []string{"part-.txt", "part-1.log", "part-1"}},
		{"%x", []string{"1f", "0"}, []string{"", "a.b"}},
		{"100%%-%d", []string{"100%-3"}, []string{"100%%-3", "100-3"}},
		{"%d.out%%", []string{"5.out%"}, []string{"5.out"}},
		{"%s.out", nil, []string{"x.out"}},    // not an integer verb: matches nothing
		{"%[1]d.out", nil, []string{"1.out"}}, // an argument index: matches nothing
		{"%d-%d", nil, []string{"1-2"}},       // two verbs: matches nothing
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			m := patternMatcher(tc.pattern)
			for _, name := range tc.match {
				assert.True(t, m(name), "%q matches %q", tc.pattern, name)
			}
			for _, name := range tc.miss {
				assert.False(t, m(name), "%q does not match %q", tc.pattern, name)
			}
		})
	}
}
