package nodeops_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/memtransport"
	"dproc/transport/sshtransport"
)

// readOnly wraps a Transport and refuses every call that could change a
// host: Put, and the sh script ApplyTree runs. It hides every optional
// interface of the wrapped transport. Tests whose destination is "/" use
// it, so that a refusal that failed could not touch this machine.
type readOnly struct {
	transport.Transport
	mu      sync.Mutex
	refused []string
	read    int64 // bytes of standard output the allowed commands wrote
}

type countWriter struct {
	w io.Writer
	n *int64
	// mu guards n
	mu *sync.Mutex
}

func (c countWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	*c.n += int64(len(p))
	c.mu.Unlock()
	if c.w == nil {
		return len(p), nil
	}
	return c.w.Write(p)
}

var errReadOnly = errors.New("read-only test transport: a change was attempted")

func (r *readOnly) Run(ctx context.Context, host string, cmd *transport.Command) error {
	if len(cmd.Args) > 0 && cmd.Args[0] == "sh" {
		r.mu.Lock()
		r.refused = append(r.refused, "run "+cmd.String())
		r.mu.Unlock()
		return errReadOnly
	}
	if strings.Contains(cmd.Shell, "rm ") || strings.Contains(cmd.Shell, "mkdir") {
		r.mu.Lock()
		r.refused = append(r.refused, "shell "+cmd.Shell)
		r.mu.Unlock()
		return errReadOnly
	}
	c := *cmd
	c.Stdout = countWriter{w: cmd.Stdout, n: &r.read, mu: &r.mu}
	return r.Transport.Run(ctx, host, &c)
}

func (r *readOnly) Put(ctx context.Context, host, p string, _ io.Reader, _ fs.FileMode) error {
	r.mu.Lock()
	r.refused = append(r.refused, "put "+p)
	r.mu.Unlock()
	return errReadOnly
}

func (r *readOnly) attempts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refused...)
}

// precious is what a home directory holds in the safety tests.
var precious = map[string]string{
	".ssh/authorized_keys": "ssh-ed25519 AAAA keep me\n",
	".bashrc":              "export KEEP=1\n",
	"data/results.csv":     "a,b\n1,2\n",
}

// fillHome writes precious under home, and a link "self" to home itself.
func fillHome(t *testing.T, home string) {
	t.Helper()
	for p, data := range precious {
		full := filepath.Join(home, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o700))
		require.NoError(t, os.WriteFile(full, []byte(data), 0o600))
	}
	require.NoError(t, os.Symlink(home, filepath.Join(home, "self")))
	require.NoError(t, os.Symlink(".", filepath.Join(home, "dot")))
}

// checkHome checks that every precious file is still in home, unchanged,
// and that no stamp was written there.
func checkHome(t *testing.T, home, what string) {
	t.Helper()
	for p, data := range precious {
		b, err := os.ReadFile(filepath.Join(home, p))
		if assert.NoError(t, err, "%s: %s", what, p) {
			assert.Equal(t, data, string(b), "%s: %s", what, p)
		}
	}
	assert.NoFileExists(t, filepath.Join(home, nodeops.DefaultStampName), what)
}

// srcDir returns a source tree that lacks everything precious holds.
func srcDir(t *testing.T) string {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "only-this"), []byte("x"), 0o644))
	return src
}

// homeSpellings returns the destinations that name home on a host whose
// home is home: each must be refused for a deleting sync.
func homeSpellings(home string) []string {
	return []string{
		"", ".", "./", "~", "~/", "~/.", "~//", ".//.",
		home, home + "/", home + "/.", home + "/./",
		"self", "~/self", "self/.", "dot", "~/dot/self",
		"data/..", "~/data/..", filepath.Join(home, "data") + "/..",
	}
}

// checkRefused checks that r is a refusal of a deleting sync onto dst on
// host that names both once.
func checkRefused(t *testing.T, r nodeops.Result[nodeops.SyncResult], host, dst string) {
	t.Helper()
	require.Error(t, r.Err, "dst %q", dst)
	assert.ErrorIs(t, r.Err, nodeops.ErrDangerousDelete, "dst %q", dst)
	msg := r.Err.Error()
	assert.True(t, strings.HasPrefix(msg, "sync: destination "+fmt.Sprintf("%q", dst)+" on host "+fmt.Sprintf("%q", host)+" is "), msg)
	assert.Equal(t, 1, strings.Count(msg, fmt.Sprintf("%q", host)), msg)
	assert.Equal(t, 1, strings.Count(msg, "sync"), msg)
	assert.Zero(t, r.Value.FilesSent+r.Value.FilesDeleted+r.Value.DirsCreated+r.Value.LinksMade+r.Value.Updated, "dst %q", dst)
}

func TestSyncRefusesDeleteOntoHomeLocal(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1", "node2")
	home := hostDir(t, tr, "node1")
	fillHome(t, home)
	other := hostDir(t, tr, "node2")
	require.NoError(t, os.WriteFile(filepath.Join(other, "keep"), []byte("k"), 0o644))
	src := srcDir(t)
	del := &nodeops.SyncOptions{Delete: true}

	// The transport's root holds the home: deleting there would remove
	// node2's home and node1's.
	for _, dst := range append(homeSpellings(home), filepath.Dir(home), home+"/..") {
		res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, dst, del)
		checkRefused(t, res[0], "node1", dst)
		checkHome(t, home, fmt.Sprintf("dst %q", dst))
		assert.FileExists(t, filepath.Join(other, "keep"))
	}

	// Messages say what the destination is on the host.
	res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "", del)
	assert.EqualError(t, res[0].Err, `sync: destination "" on host "node1" is empty, which names the home directory: `+nodeops.ErrDangerousDelete.Error())
	res = nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "self", del)
	real, err := filepath.EvalSymlinks(home)
	require.NoError(t, err)
	assert.EqualError(t, res[0].Err, fmt.Sprintf(`sync: destination "self" on host "node1" is the home directory (%s): %s`, real, nodeops.ErrDangerousDelete))
	res = nodeops.SyncAll(ctx, tr, []string{"node1"}, src, filepath.Dir(home), del)
	assert.EqualError(t, res[0].Err, fmt.Sprintf(`sync: destination %q on host "node1" is %s, which holds the home directory %s: %s`,
		filepath.Dir(home), filepath.Dir(real), real, nodeops.ErrDangerousDelete))

	// Without Delete, a sync into the home is what was asked for.
	res = nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "~", nil)
	require.NoError(t, res[0].Err)
	assert.FileExists(t, filepath.Join(home, "only-this"))
	assert.FileExists(t, filepath.Join(home, ".ssh", "authorized_keys"))
}

func TestSyncRefusesDeleteOntoRoot(t *testing.T) {
	ctx := context.Background()
	local := newLocal(t, "node1")
	home := hostDir(t, local, "node1")
	fillHome(t, home)
	require.NoError(t, os.Symlink("/", filepath.Join(home, "root")))
	ro := &readOnly{Transport: local}
	src := srcDir(t)
	for _, dst := range []string{"/", "//", "/.", "/./", "/..", "root", "~/root", "root/.", "/tmp/..", home + "/root"} {
		res := nodeops.SyncAll(ctx, ro, []string{"node1"}, src, dst, &nodeops.SyncOptions{Delete: true})
		checkRefused(t, res[0], "node1", dst)
		assert.Empty(t, ro.attempts(), "dst %q", dst)
	}
	checkHome(t, home, "root")
	// Where dst leads was read before anything under it was listed.
	ro.mu.Lock()
	defer ro.mu.Unlock()
	assert.Less(t, ro.read, int64(16<<10), "bytes read: / was listed")
}

// moving wraps a Transport and calls after once, when the first command
// (a sync's listing) has returned.
type moving struct {
	transport.Transport
	once  sync.Once
	after func()
}

func (m *moving) Run(ctx context.Context, host string, cmd *transport.Command) error {
	err := m.Transport.Run(ctx, host, cmd)
	m.once.Do(m.after)
	return err
}

// TestSyncDestinationMovedMidway: the changes computed from a listing are
// made where the listing was made, and deletions never elsewhere.
func TestSyncDestinationMovedMidway(t *testing.T) {
	for _, move := range []string{"relink dst", "replace a"} {
		t.Run(move, func(t *testing.T) {
			local := newLocal(t, "node1")
			home := hostDir(t, local, "node1")
			for _, d := range []string{"a", "b"} {
				require.NoError(t, os.MkdirAll(filepath.Join(home, d), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(home, d, "old"), []byte(d), 0o644))
			}
			require.NoError(t, os.Symlink("a", filepath.Join(home, "dst")))
			tr := &moving{Transport: local, after: func() {
				if move == "relink dst" {
					require.NoError(t, os.Remove(filepath.Join(home, "dst")))
					require.NoError(t, os.Symlink("b", filepath.Join(home, "dst")))
					return
				}
				require.NoError(t, os.Rename(filepath.Join(home, "a"), filepath.Join(home, "a.orig")))
				require.NoError(t, os.Symlink("b", filepath.Join(home, "a")))
			}}
			res := nodeops.SyncAll(context.Background(), tr, []string{"node1"}, srcDir(t), "dst", &nodeops.SyncOptions{Delete: true})
			assert.FileExists(t, filepath.Join(home, "b", "old"), "nothing deleted where the listing was not made")
			if move == "relink dst" {
				require.NoError(t, res[0].Err)
				assert.NoFileExists(t, filepath.Join(home, "a", "old"))
				assert.FileExists(t, filepath.Join(home, "a", "only-this"))
				assert.NoFileExists(t, filepath.Join(home, "b", "only-this"))
				return
			}
			require.Error(t, res[0].Err)
			assert.ErrorIs(t, res[0].Err, transport.ErrFailed)
			assert.Contains(t, res[0].Err.Error(), "now leads to")
			assert.FileExists(t, filepath.Join(home, "a.orig", "old"))
		})
	}
}

func TestSyncAllowDangerousDelete(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1")
	home := hostDir(t, tr, "node1")
	require.NoError(t, os.WriteFile(filepath.Join(home, "extra"), []byte("e"), 0o644))
	src := srcDir(t)
	res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "~", &nodeops.SyncOptions{Delete: true, AllowDangerousDelete: true})
	require.NoError(t, res[0].Err)
	assert.Equal(t, 1, res[0].Value.FilesDeleted)
	assert.NoFileExists(t, filepath.Join(home, "extra"))
	assert.FileExists(t, filepath.Join(home, "only-this"))

	// A deleting sync elsewhere needs no permission.
	require.NoError(t, os.MkdirAll(filepath.Join(home, "sub", "old"), 0o755))
	res = nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "~/sub", &nodeops.SyncOptions{Delete: true})
	require.NoError(t, res[0].Err)
	assert.Equal(t, 1, res[0].Value.FilesDeleted)
	assert.NoDirExists(t, filepath.Join(home, "sub", "old"))
}

// newMem returns a memtransport with host node1, whose home holds precious
// and a link "self" to itself.
func newMem(t *testing.T) *memtransport.Transport {
	mt := memtransport.New(&memtransport.Options{Hosts: []string{"node1"}})
	t.Cleanup(func() { mt.Close() })
	h := mt.Host("node1")
	for p, data := range precious {
		require.NoError(t, h.WriteFile(p, []byte(data), 0o600))
	}
	require.NoError(t, mt.ApplyTree(context.Background(), "node1", "", []transport.TreeOp{
		{Kind: transport.OpSymlink, Path: "self", Target: h.Home()},
		{Kind: transport.OpSymlink, Path: "dot", Target: "."},
		{Kind: transport.OpSymlink, Path: "root", Target: "/"},
		{Kind: transport.OpSymlink, Path: "up", Target: ".."},
	}))
	return mt
}

func checkMemHome(t *testing.T, mt *memtransport.Transport, what string) {
	t.Helper()
	h := mt.Host("node1")
	for p, data := range precious {
		b, err := h.ReadFile(p)
		if assert.NoError(t, err, "%s: %s", what, p) {
			assert.Equal(t, data, string(b), "%s: %s", what, p)
		}
	}
	_, err := h.Stat(nodeops.DefaultStampName)
	assert.ErrorIs(t, err, fs.ErrNotExist, what)
}

func TestSyncRefusesDeleteOntoHomeMem(t *testing.T) {
	ctx := context.Background()
	mt := newMem(t)
	home := mt.Host("node1").Home()
	src := srcDir(t)
	dsts := append(homeSpellings(home), "/", "//", "/.", "root", "~/root/", "/home", "up", "self/..", home+"/..")
	for _, dst := range dsts {
		res := nodeops.SyncAll(ctx, mt, []string{"node1"}, src, dst, &nodeops.SyncOptions{Delete: true})
		checkRefused(t, res[0], "node1", dst)
		checkMemHome(t, mt, fmt.Sprintf("dst %q", dst))
	}
	res := nodeops.SyncAll(ctx, mt, []string{"node1"}, src, "up", &nodeops.SyncOptions{Delete: true})
	assert.EqualError(t, res[0].Err, `sync: destination "up" on host "node1" is /home, which holds the home directory /home/node1: `+nodeops.ErrDangerousDelete.Error())
}

func TestSyncDestinationNotDirectory(t *testing.T) {
	ctx := context.Background()
	local := newLocal(t, "node1")
	home := hostDir(t, local, "node1")
	require.NoError(t, os.WriteFile(filepath.Join(home, "x"), []byte("file"), 0o644))
	require.NoError(t, os.Symlink("no such target", filepath.Join(home, "dangling")))
	require.NoError(t, os.Symlink("x", filepath.Join(home, "tox")))
	mt := memtransport.New(&memtransport.Options{Hosts: []string{"node1"}})
	defer mt.Close()
	require.NoError(t, mt.Host("node1").WriteFile("x", []byte("file"), 0o644))
	require.NoError(t, mt.ApplyTree(ctx, "node1", "", []transport.TreeOp{
		{Kind: transport.OpSymlink, Path: "dangling", Target: "no such target"},
		{Kind: transport.OpSymlink, Path: "tox", Target: "x"},
	}))
	src := srcDir(t)

	for name, tr := range map[string]transport.Transport{"local": local, "mem": mt} {
		for _, tc := range []struct{ dst, kind string }{
			{"x", "a file"},
			{"~/x", "a file"},
			{"tox", "a file"},
			{"dangling", "a symbolic link that leads nowhere"},
		} {
			for _, opts := range []*nodeops.SyncOptions{nil, {Delete: true}, {Delete: true, AllowDangerousDelete: true}} {
				res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, tc.dst, opts)
				require.Error(t, res[0].Err, "%s %q", name, tc.dst)
				assert.ErrorIs(t, res[0].Err, transport.ErrNotDir, "%s %q", name, tc.dst)
				assert.EqualError(t, res[0].Err, fmt.Sprintf("sync: destination %q on host \"node1\" is %s, not a directory", tc.dst, tc.kind), name)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(home, "x"))
	require.NoError(t, err)
	assert.Equal(t, "file", string(b))
	b, err = mt.Host("node1").ReadFile("x")
	require.NoError(t, err)
	assert.Equal(t, "file", string(b))

	require.NoError(t, mkfifo(filepath.Join(home, "fifo")))
	res := nodeops.SyncAll(ctx, local, []string{"node1"}, src, "fifo", &nodeops.SyncOptions{Delete: true})
	assert.ErrorIs(t, res[0].Err, transport.ErrNotDir)
	assert.EqualError(t, res[0].Err, `sync: destination "fifo" on host "node1" is a special file, not a directory`)

	// ListTree says the same.
	for name, tr := range map[string]transport.Transport{"local": local, "mem": mt} {
		_, err := nodeops.ListTree(ctx, tr, "node1", "~/x", false)
		assert.ErrorIs(t, err, transport.ErrNotDir, name)
	}
}

// TestTildePaths checks that "~" and "~/x" name the home directory and its
// entry x in every path-taking operation, on local and in-memory hosts.
func TestTildePaths(t *testing.T) {
	ctx := context.Background()
	local := newLocal(t, "node1")
	mt := memtransport.New(&memtransport.Options{Hosts: []string{"node1"}})
	defer mt.Close()
	src := srcDir(t)
	type host struct {
		tr   transport.Transport
		read func(p string) (string, error) // p relative to the home
	}
	hosts := map[string]host{
		"local": {local, func(p string) (string, error) {
			b, err := os.ReadFile(filepath.Join(hostDir(t, local, "node1"), p))
			return string(b), err
		}},
		"mem": {mt, func(p string) (string, error) {
			b, err := mt.Host("node1").ReadFile(p)
			return string(b), err
		}},
	}
	for name, h := range hosts {
		t.Run(name, func(t *testing.T) {
			tr := h.tr
			res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "~/synced", nil)
			require.NoError(t, res[0].Err)
			got, err := h.read("synced/only-this")
			require.NoError(t, err)
			assert.Equal(t, "x", got)
			_, err = h.read("~/synced/only-this")
			assert.ErrorIs(t, err, fs.ErrNotExist, "no directory named ~")

			entries, err := nodeops.ListTree(ctx, tr, "node1", "~/synced", false)
			require.NoError(t, err)
			assert.Len(t, entries, 2) // only-this and the stamp
			top, err := nodeops.ListTree(ctx, tr, "node1", "~", false)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, indexOf(top, "synced/only-this"), 0)

			// ApplyTree's dir reads ~; an op's path is a name inside it.
			require.NoError(t, nodeops.ApplyTree(ctx, tr, "node1", "~/applied", []transport.TreeOp{
				{Kind: transport.OpMkdir, Path: "~", Mode: 0o755},
			}))
			entries, err = nodeops.ListTree(ctx, tr, "node1", "applied", false)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, indexOf(entries, "~"), 0, "a directory named ~ inside applied")

			files := []nodeops.File{{Path: "tool", Mode: 0o755, Data: []byte("t")}}
			sres := nodeops.Setup(ctx, tr, []string{"node1"}, "~/work", files, nil)
			require.NoError(t, sres[0].Err)
			got, err = h.read("work/tool")
			require.NoError(t, err)
			assert.Equal(t, "t", got)

			// A file's path is a name inside dir: Install and
			// Setup have one rule, and "~/x" there is refused.
			_, err = nodeops.Install(ctx, tr, "node1", "elsewhere", []nodeops.File{{Path: "~/installed", Data: []byte("i")}})
			assert.ErrorIs(t, err, transport.ErrInvalid)
			ires, err := nodeops.Install(ctx, tr, "node1", "~", []nodeops.File{{Path: "installed", Data: []byte("i")}})
			require.NoError(t, err)
			assert.Equal(t, []string{"installed"}, ires.Sent)
			got, err = h.read("installed")
			require.NoError(t, err)
			assert.Equal(t, "i", got)

			sums, err := transport.Checksums(ctx, tr, "node1", []string{"~/installed", "installed"})
			require.NoError(t, err)
			assert.Equal(t, nodeops.File{Data: []byte("i")}.Sum(), sums[0])
			assert.Equal(t, sums[1], sums[0])
			require.NoError(t, transport.Remove(ctx, tr, "node1", "~/installed"))
			_, err = h.read("installed")
			assert.ErrorIs(t, err, fs.ErrNotExist)

			loc, err := nodeops.Locate(ctx, tr, "node1", "~/work")
			require.NoError(t, err)
			assert.Equal(t, loc.Home+"/work", loc.Dir)
		})
	}

	// Another user's home, and a Setup file that would leave dir, are
	// refused everywhere.
	for name, h := range hosts {
		tr := h.tr
		res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "~root/x", nil)
		assert.ErrorIs(t, res[0].Err, transport.ErrInvalid, name)
		_, err := nodeops.ListTree(ctx, tr, "node1", "~root", false)
		assert.ErrorIs(t, err, transport.ErrInvalid, name)
		assert.ErrorIs(t, nodeops.ApplyTree(ctx, tr, "node1", "~root", nil), transport.ErrInvalid, name)
		_, err = nodeops.Locate(ctx, tr, "node1", "~root")
		assert.ErrorIs(t, err, transport.ErrInvalid, name)
		sres := nodeops.Setup(ctx, tr, []string{"node1"}, "~root", nil, nil)
		assert.ErrorIs(t, sres[0].Err, transport.ErrInvalid, name)
		for _, p := range []string{"~/x", "~", "~root/x"} {
			sres := nodeops.Setup(ctx, tr, []string{"node1"}, "work", []nodeops.File{{Path: p}}, nil)
			assert.ErrorIs(t, sres[0].Err, transport.ErrInvalid, "%s %q", name, p)
		}
		_, err = nodeops.Install(ctx, tr, "node1", "", []nodeops.File{{Path: "~root/x"}})
		assert.ErrorIs(t, err, transport.ErrInvalid, name)
		assert.ErrorIs(t, transport.Remove(ctx, tr, "node1", "~root/x"), transport.ErrInvalid, name)
		_, err = transport.Checksums(ctx, tr, "node1", []string{"~root/x"})
		assert.ErrorIs(t, err, transport.ErrInvalid, name)
	}
}

func TestLocate(t *testing.T) {
	ctx := context.Background()
	local := newLocal(t, "node1")
	home := hostDir(t, local, "node1")
	fillHome(t, home)
	require.NoError(t, os.Symlink("/", filepath.Join(home, "root")))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(home, "dangling")))
	real, err := filepath.EvalSymlinks(home)
	require.NoError(t, err)
	mt := newMem(t)
	require.NoError(t, mt.ApplyTree(ctx, "node1", "", []transport.TreeOp{{Kind: transport.OpSymlink, Path: "dangling", Target: "nowhere"}}))

	for name, tc := range map[string]struct {
		tr   transport.Transport
		home string
	}{"local": {local, real}, "mem": {mt, "/home/node1"}} {
		for _, c := range []struct {
			dir    string
			exists bool
			typ    fs.FileMode
			at     string
		}{
			{"", true, fs.ModeDir, tc.home},
			{"~", true, fs.ModeDir, tc.home},
			{"self", true, fs.ModeDir, tc.home},
			{"dot/self/.", true, fs.ModeDir, tc.home},
			{"data", true, fs.ModeDir, tc.home + "/data"},
			{"/", true, fs.ModeDir, "/"},
			{"root", true, fs.ModeDir, "/"},
			{"data/results.csv", true, 0, ""},
			{"dangling", true, fs.ModeSymlink, ""},
			{"no such", false, 0, ""},
			{"data/results.csv/x", false, 0, ""},
		} {
			loc, err := nodeops.Locate(ctx, tc.tr, "node1", c.dir)
			require.NoError(t, err, "%s %q", name, c.dir)
			assert.Equal(t, transport.Location{Home: tc.home, Exists: c.exists, Type: c.typ, Dir: c.at}, loc, "%s %q", name, c.dir)
			assert.Equal(t, c.typ == fs.ModeDir, loc.IsDir(), "%s %q", name, c.dir)
		}
		_, err := nodeops.Locate(ctx, tc.tr, "nosuch", "")
		assert.ErrorIs(t, err, transport.ErrUnknownHost, name)
	}
	// A name that holds newlines, quotes and a leading dash.
	odd := "-odd 'dir'\n\n"
	require.NoError(t, os.Mkdir(filepath.Join(home, odd), 0o755))
	loc, err := nodeops.Locate(ctx, local, "node1", odd)
	require.NoError(t, err)
	assert.Equal(t, real+"/"+odd, loc.Dir)
}

func TestSetupErrorNamesHostOnce(t *testing.T) {
	ctx := context.Background()
	files := []nodeops.File{{Path: "a", Data: []byte("x")}}
	mt := memtransport.New(nil)
	defer mt.Close()
	for name, tr := range map[string]transport.Transport{"local": newLocal(t, "node1"), "mem": mt} {
		for _, fl := range [][]nodeops.File{files, nil} {
			err := nodeops.Setup(ctx, tr, []string{"nosuch"}, "p", fl, nil)[0].Err
			require.Error(t, err)
			assert.ErrorIs(t, err, transport.ErrUnknownHost)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, "setup: "), msg)
			assert.Equal(t, 1, strings.Count(msg, `"nosuch"`), "%s: %s", name, msg)
			assert.Equal(t, 1, strings.Count(msg, "setup"), "%s: %s", name, msg)
			assert.LessOrEqual(t, strings.Count(msg, "install"), 1, "%s: %s", name, msg)
			if fl != nil {
				assert.True(t, strings.HasPrefix(msg, "setup: install: "), msg)
			}
		}
		_, err := nodeops.Install(ctx, tr, "nosuch", "p", files)
		require.Error(t, err)
		assert.Equal(t, 1, strings.Count(err.Error(), `"nosuch"`), err.Error())
		assert.True(t, strings.HasPrefix(err.Error(), "install: "), err.Error())

		err = nodeops.SyncAll(ctx, tr, []string{"nosuch"}, t.TempDir(), "p", nil)[0].Err
		require.Error(t, err)
		assert.Equal(t, 1, strings.Count(err.Error(), `"nosuch"`), err.Error())
		assert.Equal(t, 1, strings.Count(err.Error(), "sync"), err.Error())
	}

	// An error that names no host gets the host from Setup.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	mt.AddHost("node1")
	err := nodeops.Setup(cctx, mt, []string{"node1"}, "p", files, nil)[0].Err
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, strings.Count(err.Error(), `"node1"`), err.Error())
}

// TestSyncSafetySSH runs the refusals on a real sshd node: the home is
// where sshd says, ~ and links are resolved by the node's shell, and
// nothing in the home (.ssh included) is touched.
func TestSyncSafetySSH(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	st, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	nd := c.Node(1)
	home := nd.Home()
	fillHome(t, home)
	require.NoError(t, os.Symlink("/", filepath.Join(home, "root")))
	require.NoError(t, os.WriteFile(filepath.Join(home, "x"), []byte("file"), 0o644))
	src := srcDir(t)
	host := nd.Name()

	// The node's directory holds its home, its sshd_config and host keys.
	for _, dst := range append(homeSpellings(home), filepath.Dir(home), "..") {
		res := nodeops.SyncAll(ctx, st, []string{host}, src, dst, &nodeops.SyncOptions{Delete: true})
		checkRefused(t, res[0], host, dst)
		checkHome(t, home, fmt.Sprintf("dst %q", dst))
	}
	ro := &readOnly{Transport: st}
	for _, dst := range []string{"/", "root", "~/root/."} {
		res := nodeops.SyncAll(ctx, ro, []string{host}, src, dst, &nodeops.SyncOptions{Delete: true})
		checkRefused(t, res[0], host, dst)
		assert.Empty(t, ro.attempts(), "dst %q", dst)
	}
	checkHome(t, home, "after")
	require.NoError(t, transport.Ping(ctx, st, host), "the node still lets us in")

	res := nodeops.SyncAll(ctx, st, []string{host}, src, "x", &nodeops.SyncOptions{Delete: true})
	assert.ErrorIs(t, res[0].Err, transport.ErrNotDir)
	assert.EqualError(t, res[0].Err, fmt.Sprintf(`sync: destination "x" on host %q is a file, not a directory`, host))

	// ~/sub is the home's sub, and a deleting sync there works.
	require.NoError(t, os.MkdirAll(filepath.Join(home, "sub", "old"), 0o755))
	res = nodeops.SyncAll(ctx, st, []string{host}, src, "~/sub", &nodeops.SyncOptions{Delete: true})
	require.NoError(t, res[0].Err)
	assert.Equal(t, 1, res[0].Value.FilesDeleted)
	assert.FileExists(t, filepath.Join(home, "sub", "only-this"))
	assert.NoDirExists(t, filepath.Join(home, "~"))
	checkHome(t, home, "after ~/sub")
}
