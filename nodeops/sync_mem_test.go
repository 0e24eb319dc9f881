package nodeops_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/memtransport"
)

// memSnapshot is snapshot for a memtransport host: every entry under dir
// but the stamp file.
func memSnapshot(t *testing.T, mt *memtransport.Transport, host, dir string) map[string]snap {
	t.Helper()
	entries, err := mt.ListTree(context.Background(), host, dir, false)
	require.NoError(t, err)
	h := mt.Host(host)
	out := map[string]snap{}
	for _, e := range entries {
		if e.Path == nodeops.DefaultStampName {
			continue
		}
		s := snap{Mode: e.Mode, Sec: e.ModTime.Unix()}
		switch {
		case e.Mode.IsRegular():
			b, err := h.ReadFile(dir + "/" + e.Path)
			require.NoError(t, err)
			s.Size, s.Data = e.Size, string(b)
		case e.Mode&fs.ModeSymlink != 0:
			s.Target, s.Sec = e.Target, 0
		}
		out[e.Path] = s
	}
	return out
}

func TestSyncMem(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	nfiles := makeTree(t, src)
	mt := memtransport.New(nil)
	defer mt.Close()
	hosts := []string{"node1", "node2"}
	for _, h := range hosts {
		mt.AddHost(h)
	}
	// node2 has a link where the source has a directory: the sync must
	// replace it, never write through it.
	require.NoError(t, mt.ApplyTree(ctx, "node2", "shared", []transport.TreeOp{{Kind: transport.OpSymlink, Path: "a", Target: "/etc"}}))

	before := time.Now()
	res := nodeops.SyncAll(ctx, mt, hosts, src, "shared", nil)
	want := snapshot(t, src)
	for _, r := range res {
		require.NoError(t, r.Err, r.Host)
		assert.Equal(t, nfiles, r.Value.FilesSent)
		assert.Equal(t, want, memSnapshot(t, mt, r.Host, "shared"), r.Host)
		b, err := mt.Host(r.Host).ReadFile("shared/" + nodeops.DefaultStampName)
		require.NoError(t, err)
		st, err := nodeops.ParseStamp(b)
		require.NoError(t, err)
		assert.Equal(t, r.Value.Digest, st.Digest)
		assert.False(t, st.Time.Before(before.Add(-time.Second)))
	}
	for _, f := range mt.Host("node2").Files() {
		assert.NotContains(t, f, "/etc/", "nothing written through the link")
	}

	// A second sync sends nothing and makes two calls per host.
	var puts, calls [2]int64
	for i, h := range hosts {
		puts[i], calls[i] = mt.Host(h).Stats().Puts, mt.Host(h).Stats().Calls
	}
	res = nodeops.SyncAll(ctx, mt, hosts, src, "shared", nil)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Zero(t, r.Value.FilesSent)
		assert.Equal(t, nfiles, r.Value.Unchanged)
		assert.Equal(t, puts[i]+1, mt.Host(r.Host).Stats().Puts, "only the stamp")
		assert.Equal(t, calls[i]+2, mt.Host(r.Host).Stats().Calls, "the listing and the stamp")
	}

	// A deleted file goes only with Delete.
	require.NoError(t, os.Remove(filepath.Join(src, "bin", "run.sh")))
	res = nodeops.SyncAll(ctx, mt, hosts[:1], src, "shared", nil)
	require.NoError(t, res[0].Err)
	_, err := mt.Host("node1").ReadFile("shared/bin/run.sh")
	assert.NoError(t, err, "kept without Delete")
	res = nodeops.SyncAll(ctx, mt, hosts[:1], src, "shared", &nodeops.SyncOptions{Delete: true})
	require.NoError(t, res[0].Err)
	assert.Equal(t, 1, res[0].Value.FilesDeleted)
	_, err = mt.Host("node1").ReadFile("shared/bin/run.sh")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// A host that is down is a result with its error; the others go on.
	mt.Host("node2").SetDown(true)
	res = nodeops.SyncAll(ctx, mt, hosts, src, "shared", nil)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, transport.ErrLost)
}

func TestSetupMem(t *testing.T) {
	ctx := context.Background()
	mt := memtransport.New(nil)
	defer mt.Close()
	hosts := []string{"a", "b"}
	for _, h := range hosts {
		mt.AddHost(h)
	}
	files := []nodeops.File{{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ncat\n")}}
	res := nodeops.Setup(ctx, mt, hosts, "processing", files, nil)
	for _, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, []string{"worker.sh"}, r.Value.Sent)
	}
	// A mode changed on a host is put back, the content is not sent again.
	require.NoError(t, mt.ApplyTree(ctx, "a", "processing", []transport.TreeOp{{Kind: transport.OpChmod, Path: "worker.sh", Mode: 0o600}}))
	res = nodeops.Setup(ctx, mt, hosts, "processing", files, nil)
	for _, r := range res {
		require.NoError(t, r.Err)
		assert.Empty(t, r.Value.Sent)
		assert.Equal(t, []string{"worker.sh"}, r.Value.Skipped)
		fi, err := mt.Host(r.Host).Stat("processing/worker.sh")
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm(), r.Host)
	}
}
