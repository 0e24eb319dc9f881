package gather

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// tempOwner returns the pid encoded in a temporary file name for base, or
// false when file is not one.
func tempOwner(base, file string) (int, bool) {
	name, pid, ok := parseTemp(file)
	if !ok || name != base {
		return 0, false
	}
	return pid, true
}

// fileMakers are the gatherers that publish one file through a temporary
// file: they share its checks, naming, cleanup and Close rules.
var fileMakers = []struct {
	name string
	make func(path string, opts *Options) (Gatherer, error)
}{
	{"File", func(path string, opts *Options) (Gatherer, error) {
		g, err := File(path, opts)
		if err != nil {
			return nil, err
		}
		return g, nil
	}},
	{"MergeFile", func(path string, opts *Options) (Gatherer, error) {
		g, err := MergeFile(path, bytes.Compare, opts)
		if err != nil {
			return nil, err
		}
		return g, nil
	}},
}

func TestFileRefusesBadDestination(t *testing.T) {
	for _, fm := range fileMakers {
		t.Run(fm.name, func(t *testing.T) { testRefusesBadDestination(t, fm.make) })
	}
}

func testRefusesBadDestination(t *testing.T, newFile func(string, *Options) (Gatherer, error)) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, []byte("keep"), 0o644))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, tc := range []struct {
		name, path string
		is         error
		says       string
	}{
		{"existing directory", sub, ErrInvalid, "is a directory"},
		{"trailing slash", sub + "/", ErrInvalid, "does not name a file"},
		{"missing parent", filepath.Join(dir, "missing", "out"), fs.ErrNotExist, "does not exist"},
		{"parent is a file", filepath.Join(plain, "out"), ErrInvalid, "is not a directory"},
		{"fifo", fifo, ErrInvalid, "not a regular file"},
		{"device", "/dev/null", ErrInvalid, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := newFile(tc.path, nil)
			require.Error(t, err)
			assert.Nil(t, g)
			assert.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.says)
			assert.Contains(t, err.Error(), filepath.Clean(tc.path))
			assert.ElementsMatch(t, []string{"sub", "plain", "fifo"}, dirNames(t, dir), "no temporary file made")
			assert.Empty(t, dirNames(t, sub))
		})
	}
}

func TestFileTempNameNamesOwner(t *testing.T) {
	for _, fm := range fileMakers {
		t.Run(fm.name, func(t *testing.T) { testTempNameNamesOwner(t, fm.make) })
	}
}

func testTempNameNamesOwner(t *testing.T, newFile func(string, *Options) (Gatherer, error)) {
	dir := t.TempDir()
	g, err := newFile(filepath.Join(dir, "out.txt"), nil)
	require.NoError(t, err)
	names := dirNames(t, dir)
	require.Len(t, names, 1)
	assert.Regexp(t, "^"+regexp.QuoteMeta(".out.txt.tmp-"+strconv.Itoa(os.Getpid())+"-")+"[0-9]+$", names[0])
	pid, ok := tempOwner("out.txt", names[0])
	assert.True(t, ok)
	assert.Equal(t, os.Getpid(), pid)
	require.NoError(t, g.Close(0, nil))
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	pid := cmd.Process.Pid
	require.False(t, processAlive(pid))
	return pid
}

func TestFileRemovesStaleTemps(t *testing.T) {
	for _, fm := range fileMakers {
		t.Run(fm.name, func(t *testing.T) { testRemovesStaleTemps(t, fm.make) })
	}
}

func testRemovesStaleTemps(t *testing.T, newFile func(string, *Options) (Gatherer, error)) {
	dir := t.TempDir()
	dead := strconv.Itoa(deadPid(t))
	live := strconv.Itoa(os.Getppid())
	self := strconv.Itoa(os.Getpid())
	require.True(t, processAlive(os.Getppid()))
	files := map[string]bool{ // name: kept
		".out.txt.tmp-" + dead + "-123":  false, // a dead owner's: removed
		".out.txt.tmp-" + live + "-456":  true,  // a live process's run
		".out.txt.tmp-" + self + "-789":  true,  // this process's
		".other.tmp-" + dead + "-1":      true,  // another destination's
		".out.txt.tmp-987654321":         true,  // owner unknown
		".out.txt.tmp-" + dead + "-x":    true,  // not a name File makes
		".out.txt.tmp-" + dead + "-2.gz": true,
		"out.txt.tmp-" + dead + "-3":     true,
	}
	for name := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o644))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".out.txt.tmp-"+dead+"-4"), 0o755))
	files[".out.txt.tmp-"+dead+"-4"] = true // a directory is never removed

	g, err := newFile(filepath.Join(dir, "out.txt"), &Options{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, g.Close(0, nil))
	var want []string
	for name, kept := range files {
		if kept {
			want = append(want, name)
		}
	}
	want = append(want, "out.txt")
	assert.ElementsMatch(t, want, dirNames(t, dir))
}

func TestFileCloseEndsOnce(t *testing.T) {
	for _, fm := range fileMakers {
		t.Run(fm.name, func(t *testing.T) { testCloseEndsOnce(t, fm.make) })
	}
}

func testCloseEndsOnce(t *testing.T, newFile func(string, *Options) (Gatherer, error)) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	early := errors.New("gave up before the run")

	// An early return: Close(0, err) removes the temporary file.
	g, err := newFile(out, nil)
	require.NoError(t, err)
	require.Len(t, dirNames(t, dir), 1)
	assert.ErrorIs(t, g.Close(0, early), early)
	assert.Empty(t, dirNames(t, dir))
	err = g.Close(0, early)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, err, early)

	// A deferred guard after a successful Close leaves the result alone.
	g, err = newFile(out, &Options{NoSync: true})
	require.NoError(t, err)
	o, err := g.Output(0)
	require.NoError(t, err)
	_, err = o.Write([]byte("result\n"))
	require.NoError(t, err)
	require.NoError(t, o.Commit())
	require.NoError(t, g.Close(1, nil))
	assert.ErrorIs(t, g.Close(0, early), ErrClosed)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "result\n", string(got))
	assert.Equal(t, []string{"out"}, dirNames(t, dir))
}
