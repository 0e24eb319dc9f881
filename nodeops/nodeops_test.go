package nodeops_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/memtransport"
	"dproc/transport/transporttest"
)

// Install and Setup read a File.Path by one rule: a clean relative name
// inside dir. Whatever is refused is refused before the host is contacted.
func TestInstallOneRule(t *testing.T) {
	ctx := context.Background()
	mt := memtransport.New(nil)
	defer mt.Close()
	h := mt.AddHost("n1")
	for _, p := range []string{"", ".", "/etc/passwd", "/abs", "..", "../x", "a/../../x", "~", "~/x", "~root/x"} {
		calls := h.Stats().Calls
		_, err := nodeops.Install(ctx, mt, "n1", "work", []nodeops.File{{Path: p, Data: []byte("x")}})
		assert.ErrorIs(t, err, transport.ErrInvalid, "Install %q", p)
		res := nodeops.Setup(ctx, mt, []string{"n1"}, "work", []nodeops.File{{Path: p, Data: []byte("x")}}, nil)
		assert.ErrorIs(t, res[0].Err, transport.ErrInvalid, "Setup %q", p)
		assert.Equal(t, calls, h.Stats().Calls, "%q: the host was not contacted", p)
	}
	// A path is cleaned, and a name that merely starts with "~" deeper
	// down is a name.
	res, err := nodeops.Install(ctx, mt, "n1", "work", []nodeops.File{
		{Path: "a/./b", Data: []byte("b")},
		{Path: "c/~d", Data: []byte("d")},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a/./b", "c/~d"}, res.Sent, "as given")
	got, err := h.ReadFile("work/a/b")
	require.NoError(t, err)
	assert.Equal(t, "b", string(got))
	got, err = h.ReadFile("work/c/~d")
	require.NoError(t, err)
	assert.Equal(t, "d", string(got))

	// A dir of "~/x" is the home's x; a file named "~x" in the home is
	// only a name.
	res, err = nodeops.Install(ctx, mt, "n1", "~", []nodeops.File{{Path: "x~", Data: []byte("h")}})
	require.NoError(t, err)
	assert.Equal(t, []string{"x~"}, res.Sent)
	got, err = h.ReadFile("x~")
	require.NoError(t, err)
	assert.Equal(t, "h", string(got))
}

func TestInstallNoFilesMakesDir(t *testing.T) {
	mt := memtransport.New(nil)
	defer mt.Close()
	h := mt.AddHost("n1")
	res, err := nodeops.Install(context.Background(), mt, "n1", "~/work/sub", nil)
	require.NoError(t, err)
	assert.Equal(t, "n1", res.Host)
	fi, err := h.Stat("work/sub")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
}

// Setup is Install on each host: the same result, with "setup: " before
// the error.
func TestSetupIsInstallOnEachHost(t *testing.T) {
	ctx := context.Background()
	mt := memtransport.New(nil)
	defer mt.Close()
	mt.AddHost("n1")
	mt.AddHost("n2")
	files := []nodeops.File{{Path: "w.sh", Mode: 0o755, Data: []byte("w")}}
	res := nodeops.Setup(ctx, mt, []string{"n1", "nosuch", "n2"}, "p", files, &nodeops.SetupOptions{Parallel: 1})
	require.Len(t, res, 3)
	for i, h := range []string{"n1", "nosuch", "n2"} {
		assert.Equal(t, h, res[i].Host)
		assert.Equal(t, h, res[i].Value.Host)
	}
	require.NoError(t, res[0].Err)
	require.NoError(t, res[2].Err)
	assert.Equal(t, []string{"w.sh"}, res[0].Value.Sent)
	assert.ErrorIs(t, res[1].Err, transport.ErrUnknownHost)
	_, ierr := nodeops.Install(ctx, mt, "nosuch", "p", files)
	assert.Equal(t, "setup: "+ierr.Error(), res[1].Err.Error())

	// A ctx that ended before a host's turn names the host too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	res = nodeops.Setup(cctx, mt, []string{"n1"}, "p", files, nil)
	assert.ErrorIs(t, res[0].Err, context.Canceled)
	assert.Equal(t, `setup on host "n1": context canceled`, res[0].Err.Error())
}

func TestSyncOneHost(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("data"), 0o640))
	mt := memtransport.New(nil)
	defer mt.Close()
	h := mt.AddHost("n1")
	r, err := nodeops.Sync(ctx, mt, "n1", src, "dst", nil)
	require.NoError(t, err)
	assert.Equal(t, "n1", r.Host)
	assert.Equal(t, 1, r.FilesSent)
	assert.Equal(t, int64(4), r.BytesSent)
	got, err := h.ReadFile("dst/f")
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))

	r, err = nodeops.Sync(ctx, mt, "nosuch", src, "dst", nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, transport.ErrUnknownHost)
	assert.Equal(t, 1, strings.Count(err.Error(), `"nosuch"`), err.Error())
	assert.Equal(t, "nosuch", r.Host)

	_, err = nodeops.Sync(ctx, mt, "n1", filepath.Join(src, "missing"), "dst", nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// SyncAll with an src that cannot be read: every host's error.
	res := nodeops.SyncAll(ctx, mt, []string{"n1", "n2"}, filepath.Join(src, "missing"), "dst", nil)
	require.Len(t, res, 2)
	for i, h := range []string{"n1", "n2"} {
		assert.Equal(t, h, res[i].Host)
		assert.Equal(t, h, res[i].Value.Host)
		assert.ErrorIs(t, res[i].Err, fs.ErrNotExist)
	}
	assert.Empty(t, nodeops.SyncAll(ctx, mt, nil, src, "dst", nil))

	// An empty src makes dst, which then holds only the stamp, on a
	// transport's own Tree and on the shell fallback.
	empty := t.TempDir()
	local := newLocal(t, "n1")
	for name, tr := range map[string]transport.Transport{"mem": mt, "local": local} {
		r, err := nodeops.Sync(ctx, tr, "n1", empty, "new/dst", nil)
		require.NoError(t, err, name)
		assert.Zero(t, r.FilesSent+r.DirsCreated, name)
		entries, err := nodeops.ListTree(ctx, tr, "n1", "new/dst", false)
		require.NoError(t, err, name)
		require.Len(t, entries, 1, name)
		assert.Equal(t, nodeops.DefaultStampName, entries[0].Path, name)
	}
}

// recording is a Transport with a Tree that records the ops it applies and
// the paths it puts, over a memtransport.
type recording struct {
	*memtransport.Transport
	mu   sync.Mutex
	ops  []transport.TreeOp
	puts []string
}

func (r *recording) Put(ctx context.Context, host, p string, rd io.Reader, mode fs.FileMode) error {
	r.mu.Lock()
	r.puts = append(r.puts, p)
	r.mu.Unlock()
	return r.Transport.Put(ctx, host, p, rd, mode)
}

func (r *recording) ApplyTree(ctx context.Context, host, dir string, ops []transport.TreeOp) error {
	r.mu.Lock()
	r.ops = append(r.ops, ops...)
	r.mu.Unlock()
	return r.Transport.ApplyTree(ctx, host, dir, ops)
}

// The stamp is a file Sync writes with Put, last; no tree op knows it.
func TestSyncStampIsAFileWrite(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	makeTree(t, src)
	rec := &recording{Transport: memtransport.New(nil)}
	defer rec.Close()
	h := rec.AddHost("n1")
	before := time.Now()
	r, err := nodeops.Sync(ctx, rec, "n1", src, "~/dst", &nodeops.SyncOptions{StampName: "STAMP"})
	require.NoError(t, err)
	require.NotEmpty(t, rec.ops)
	for _, op := range rec.ops {
		assert.NotEqual(t, "STAMP", op.Path, "%+v", op)
	}
	require.NotEmpty(t, rec.puts)
	assert.Equal(t, "dst/STAMP", rec.puts[len(rec.puts)-1], "the stamp is the last write")
	b, err := h.ReadFile("dst/STAMP")
	require.NoError(t, err)
	st, err := nodeops.ParseStamp(b)
	require.NoError(t, err)
	assert.Equal(t, r.Digest, st.Digest)
	assert.WithinDuration(t, before, st.Time, 5*time.Second)
	fi, err := h.Stat("dst/STAMP")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())
	assert.False(t, fi.ModTime().Before(before.Add(-time.Second)), "the host gave the stamp its own time")
}

// The tree operations find a Tree and a Locator through a wrapper's
// Unwrap, and fall back to the shell when a wrapper hides them.
func TestTreeCapabilityThroughWrappers(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	mt := memtransport.New(nil)
	defer mt.Close()
	mt.AddHost("n1")
	require.NoError(t, mt.Host("n1").WriteFile("d/f", []byte("x"), 0o644))

	// memtransport runs no sh: only its own Tree can list.
	through := transporttest.Unwrapping(mt)
	entries, err := nodeops.ListTree(ctx, through, "n1", "d", false)
	require.NoError(t, err, "the Tree found through Unwrap")
	assert.Len(t, entries, 1)
	loc, err := nodeops.Locate(ctx, through, "n1", "d")
	require.NoError(t, err, "the Locator found through Unwrap")
	assert.True(t, loc.IsDir())
	require.NoError(t, nodeops.ApplyTree(ctx, through, "n1", "d", []transport.TreeOp{{Kind: transport.OpRemoveAll, Path: "f"}}))
	_, err = nodeops.Sync(ctx, through, "n1", src, "s", &nodeops.SyncOptions{Delete: true})
	require.NoError(t, err)

	hidden := transporttest.Hide(mt)
	_, err = nodeops.ListTree(ctx, hidden, "n1", "d", false)
	assert.Error(t, err, "a hidden Tree: the shell fallback, which memtransport cannot run")
	_, err = nodeops.Locate(ctx, hidden, "n1", "d")
	assert.Error(t, err)
	_, err = nodeops.Sync(ctx, hidden, "n1", src, "s", nil)
	assert.Error(t, err)

	// Over a real shell the hidden transport still works, by the fallback.
	local := transporttest.Hide(newLocal(t, "n1"))
	_, err = nodeops.Sync(ctx, local, "n1", src, "s", nil)
	require.NoError(t, err)
	entries, err = nodeops.ListTree(ctx, local, "n1", "s", false)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "f and the stamp")
}
