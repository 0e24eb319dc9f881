package nodeflags_test

import (
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/examples/internal/nodeflags"
)

// TestTempRoot checks that local nodes get a temporary root that Close
// removes, and that opening them removes the root a killed program left.
func TestTempRoot(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	stale := filepath.Join(tmp, nodeflags.TempPrefix+strconv.Itoa(dead.Process.Pid)+".1-1")
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "node1"), 0o755))
	kept := filepath.Join(tmp, "other-dir")
	require.NoError(t, os.Mkdir(kept, 0o755))

	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := nodeflags.Register(fs)
	require.NoError(t, fs.Parse(nil))
	n, err := f.Open()
	require.NoError(t, err)
	assert.NoDirExists(t, stale, "the stale root of an ended program")
	assert.DirExists(t, kept)
	assert.Equal(t, tmp, filepath.Dir(n.Root))
	for _, h := range nodeflags.DefaultNodes {
		assert.DirExists(t, filepath.Join(n.Root, h))
	}
	require.NoError(t, n.Close())
	assert.NoDirExists(t, n.Root)
	assert.DirExists(t, kept)
}

// TestGivenRootKept checks that a -root given by the user is not removed.
func TestGivenRootKept(t *testing.T) {
	root := filepath.Join(t.TempDir(), "nodes")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := nodeflags.Register(fs)
	require.NoError(t, fs.Parse([]string{"-root", root}))
	n, err := f.Open()
	require.NoError(t, err)
	require.NoError(t, n.Close())
	assert.DirExists(t, filepath.Join(root, "node1"))
}
