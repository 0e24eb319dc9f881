package nodeops_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

var setupFiles = []nodeops.File{
	{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ntr a-z A-Z\n")},
	{Path: "conf/it's $x.conf", Mode: 0o600, Data: []byte("secret=1\n")},
	{Path: "-data", Data: []byte("default mode\n")},
}

// checkSetup checks that files are under dir with their modes.
func checkSetup(t *testing.T, dir string) {
	t.Helper()
	for _, f := range setupFiles {
		p := filepath.Join(dir, f.Path)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, string(f.Data), string(b))
		fi, err := os.Stat(p)
		require.NoError(t, err)
		want := f.Mode
		if want == 0 {
			want = 0o644
		}
		assert.Equal(t, want, fi.Mode().Perm(), f.Path)
	}
}

func TestSetupLocal(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1", "node2")
	hosts := []string{"node1", "node2"}

	ct := newCounting(tr) // hides the Checksummer: checksums run sha256sum
	res := nodeops.Setup(ctx, ct, hosts, "processing", setupFiles, nil)
	require.Len(t, res, 2)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, hosts[i], r.Host)
		assert.Len(t, r.Value.Sent, 3)
		assert.Empty(t, r.Value.Skipped)
		checkSetup(t, filepath.Join(hostDir(t, tr, r.Host), "processing"))
		runs, puts := ct.counts(r.Host)
		assert.Equal(t, 1, runs, "the checksums; modes were set by Put")
		assert.Equal(t, 3, puts)
	}

	// The same content is skipped, and a wrong mode is fixed.
	require.NoError(t, os.Chmod(filepath.Join(hostDir(t, tr, "node2"), "processing", "worker.sh"), 0o600))
	ct.reset()
	res = nodeops.Setup(ctx, ct, hosts, "processing", setupFiles, nil)
	for _, r := range res {
		require.NoError(t, r.Err)
		assert.Empty(t, r.Value.Sent)
		assert.Len(t, r.Value.Skipped, 3)
		assert.Zero(t, r.Value.Bytes)
		checkSetup(t, filepath.Join(hostDir(t, tr, r.Host), "processing"))
		runs, puts := ct.counts(r.Host)
		assert.Equal(t, 2, runs, "the checksums and one chmod script")
		assert.Zero(t, puts)
	}
}

func TestSetupMakesDir(t *testing.T) {
	tr := newLocal(t, "node1")
	res := nodeops.Setup(context.Background(), tr, []string{"node1"}, "work dir/sub", nil, nil)
	require.NoError(t, res[0].Err)
	assert.DirExists(t, filepath.Join(hostDir(t, tr, "node1"), "work dir", "sub"))
}

func TestSetupErrors(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1")
	res := nodeops.Setup(ctx, tr, []string{"node1", "nosuch"}, "p", setupFiles, nil)
	require.Len(t, res, 2)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, transport.ErrUnknownHost)
	assert.Equal(t, "nosuch", res[1].Host)

	for _, p := range []string{"", "/etc/x", "../x", "a/../../x"} {
		res := nodeops.Setup(ctx, tr, []string{"node1"}, "p", []nodeops.File{{Path: p}}, nil)
		assert.ErrorIs(t, res[0].Err, transport.ErrInvalid, p)
	}
	// A file where the working directory should be.
	require.NoError(t, os.WriteFile(filepath.Join(hostDir(t, tr, "node1"), "file"), nil, 0o644))
	res = nodeops.Setup(ctx, tr, []string{"node1"}, "file", nil, nil)
	assert.ErrorIs(t, res[0].Err, transport.ErrFailed)
}

func TestSetupSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 2, nil)
	st, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()

	res := nodeops.Setup(ctx, st, c.Hosts(), "processing", setupFiles, nil)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Len(t, r.Value.Sent, 3)
		checkSetup(t, filepath.Join(c.Node(i+1).Home(), "processing"))
	}
	require.NoError(t, os.Chmod(filepath.Join(c.Node(1).Home(), "processing", "worker.sh"), fs.FileMode(0o644)))
	res = nodeops.Setup(ctx, st, c.Hosts(), "processing", setupFiles, nil)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Empty(t, r.Value.Sent)
		assert.Len(t, r.Value.Skipped, 3)
		checkSetup(t, filepath.Join(c.Node(i+1).Home(), "processing"))
	}
}

func TestSetupSpecialBits(t *testing.T) {
	tr := newLocal(t, "node1")
	files := []nodeops.File{{Path: "bin/tool", Mode: 0o750 | fs.ModeSetgid, Data: []byte("x")}}
	for i := 0; i < 2; i++ {
		res := nodeops.Setup(context.Background(), tr, []string{"node1"}, "", files, nil)
		require.NoError(t, res[0].Err)
		fi, err := os.Stat(filepath.Join(hostDir(t, tr, "node1"), "bin", "tool"))
		require.NoError(t, err)
		assert.Equal(t, 0o750|fs.ModeSetgid, fi.Mode())
	}
}
