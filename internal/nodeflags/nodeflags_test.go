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

	"dproc/internal/nodeflags"
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

// TestSelection checks how the flags become hosts: node sets, hostfiles
// with slots, exclusions (also of the default local nodes), and the
// errors of flags that do not fit together.
func TestSelection(t *testing.T) {
	dir := t.TempDir()
	hf := filepath.Join(dir, "hosts")
	require.NoError(t, os.WriteFile(hf, []byte("# two racks\n4/rack[1-2]\nbob@db:2200\n"), 0o644))
	tests := []struct {
		name  string
		args  []string
		hosts []string
		slots map[string]int
		local bool
		err   string
	}{
		{"default", nil, nodeflags.DefaultNodes, nil, true, ""},
		{"default excluded", []string{"-x", "node[1-2]"}, []string{"node3"}, nil, true, ""},
		{"local node set", []string{"-local", "-nodes", "n[01-03]", "-x", "n02"}, []string{"n01", "n03"}, nil, true, ""},
		{"local slots", []string{"-local", "-nodes", "3/a,b"}, []string{"a", "b"}, map[string]int{"a": 3}, true, ""},
		{"ssh hostfile", []string{"-hostfile", hf, "-ssh-config", os.DevNull}, []string{"rack1", "rack2", "bob@db:2200"}, map[string]int{"rack1": 4, "rack2": 4}, false, ""},
		{"repeated -nodes", []string{"-nodes", "a", "-nodes", "b,a", "-ssh-config", os.DevNull}, []string{"a", "b"}, nil, false, ""},
		{"bad node set", []string{"-nodes", "n[1-"}, nil, nil, false, "column"},
		{"local with a port", []string{"-local", "-nodes", "n1:22"}, nil, nil, false, "takes no user or port"},
		{"ssh-config without hosts", []string{"-ssh-config", "x"}, nil, nil, false, "needs SSH hosts"},
		{"everything excluded", []string{"-x", "*"}, nil, nil, false, "no hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := nodeflags.Register(fs)
			require.NoError(t, fs.Parse(tt.args))
			n, err := f.Open()
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.ErrorIs(t, err, nodeflags.ErrUsage)
				return
			}
			require.NoError(t, err)
			defer n.Close()
			assert.Equal(t, tt.hosts, n.Hosts)
			assert.Equal(t, tt.slots, n.Slots)
			assert.Equal(t, tt.local, n.Local)
			assert.Equal(t, !tt.local, n.SSH != nil)
		})
	}
}
