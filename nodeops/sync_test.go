package nodeops_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/sshtransport"
)

// counting wraps a Transport and counts Runs and Puts per host. It hides
// every optional interface of the wrapped transport.
type counting struct {
	transport.Transport
	mu   sync.Mutex
	runs map[string]int
	puts map[string]int
}

func newCounting(t transport.Transport) *counting {
	return &counting{Transport: t, runs: map[string]int{}, puts: map[string]int{}}
}

func (c *counting) Run(ctx context.Context, host string, cmd *transport.Command) error {
	c.mu.Lock()
	c.runs[host]++
	c.mu.Unlock()
	return c.Transport.Run(ctx, host, cmd)
}

func (c *counting) Put(ctx context.Context, host, p string, r io.Reader, mode fs.FileMode) error {
	c.mu.Lock()
	c.puts[host]++
	c.mu.Unlock()
	return c.Transport.Put(ctx, host, p, r, mode)
}

func (c *counting) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.runs)
	clear(c.puts)
}

func (c *counting) counts(host string) (runs, puts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[host], c.puts[host]
}

// newLocal returns a localtransport with hosts under a temporary root.
func newLocal(t testing.TB, hosts ...string) *localtransport.Transport {
	tr, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: hosts})
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

var (
	past  = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	past2 = time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)
)

// hostileNames are regular files of the test tree, at the top and nested.
var hostileNames = []string{
	"with space.txt", `it's "q".txt`, "$x", "$(touch pwned)", "new\nline", "-rf", "--", "a/-n", "a/b/c/deep.txt", "a/b/c/$HOME",
}

// makeTree fills dir with the test tree and returns the number of regular
// files in it.
func makeTree(t testing.TB, dir string) int {
	t.Helper()
	write := func(p, data string, mode fs.FileMode) {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(data), mode))
		require.NoError(t, os.Chmod(full, mode))
		require.NoError(t, os.Chtimes(full, past, past))
	}
	for i, n := range hostileNames {
		write(n, strings.Repeat(n, i+1), 0o600)
	}
	write("bin/run.sh", "#!/bin/sh\necho hi\n", 0o755)
	write("ro/file", "read only dir\n", 0o644)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o700))
	require.NoError(t, os.Symlink("b/c/deep.txt", filepath.Join(dir, "a", "link-in")))
	require.NoError(t, os.Symlink("../../../../etc", filepath.Join(dir, "link-out")))
	require.NoError(t, os.Symlink("/no/such/target", filepath.Join(dir, "dangling")))
	require.NoError(t, os.Chmod(filepath.Join(dir, "ro"), 0o555))
	setDirTimes(t, dir)
	return len(hostileNames) + 2
}

// setDirTimes gives every directory under dir the time past2, deepest first.
func setDirTimes(t testing.TB, dir string) {
	t.Helper()
	var dirs []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			dirs = append(dirs, p)
		}
		return err
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		require.NoError(t, os.Chtimes(dirs[i], past2, past2))
	}
}

// snap is what a tree comparison looks at for one entry.
type snap struct {
	Mode   fs.FileMode
	Size   int64
	Sec    int64 // modification time, whole seconds (links: not compared)
	Data   string
	Target string
}

// snapshot returns every entry under dir but the stamp file.
func snapshot(t testing.TB, dir string) map[string]snap {
	t.Helper()
	out := map[string]snap{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		if p == dir || rel == nodeops.DefaultStampName {
			return nil
		}
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		s := snap{Mode: fi.Mode(), Sec: fi.ModTime().Unix()}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			s.Size, s.Data = fi.Size(), string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			s.Target, err = os.Readlink(p)
			require.NoError(t, err)
			s.Sec = 0
		}
		out[filepath.ToSlash(rel)] = s
		return nil
	}))
	return out
}

// hostDir returns the home of host on tr.
func hostDir(t testing.TB, tr *localtransport.Transport, host string) string {
	d, err := tr.HostDir(host)
	require.NoError(t, err)
	return d
}

// checkStamp checks the stamp in dir: a fresh host time and digest.
func checkStamp(t *testing.T, dir, digest string, before time.Time) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, nodeops.DefaultStampName))
	require.NoError(t, err)
	st, err := nodeops.ParseStamp(b)
	require.NoError(t, err, "%q", b)
	assert.Equal(t, digest, st.Digest)
	assert.False(t, st.Time.Before(before.Add(-time.Second)), "stamp time %v before %v", st.Time, before)
	assert.False(t, st.Time.After(time.Now().Add(time.Second)), "stamp time %v in the future", st.Time)
}

func TestSyncLocal(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	nfiles := makeTree(t, src)
	tr := newLocal(t, "node1", "node2")
	ct := newCounting(tr)
	hosts := []string{"node1", "node2"}

	before := time.Now()
	res := nodeops.SyncAll(ctx, ct, hosts, src, "shared/tree", nil)
	require.Len(t, res, 2)
	want := snapshot(t, src)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, hosts[i], r.Host)
		assert.Equal(t, nfiles, r.Value.FilesSent)
		assert.Equal(t, 6, r.Value.DirsCreated) // a a/b a/b/c bin ro empty
		assert.Equal(t, 3, r.Value.LinksMade)
		assert.Zero(t, r.Value.FilesDeleted)
		assert.Zero(t, r.Value.Unchanged)
		assert.Empty(t, r.Value.Skipped)
		dst := filepath.Join(hostDir(t, tr, r.Host), "shared", "tree")
		assert.Equal(t, want, snapshot(t, dst))
		checkStamp(t, dst, r.Value.Digest, before)

		// The digest is that of the tree on the host.
		listing, err := nodeops.ListTree(ctx, tr, r.Host, "shared/tree", true)
		require.NoError(t, err)
		var synced []transport.Entry
		for _, e := range listing {
			if e.Path != nodeops.DefaultStampName {
				synced = append(synced, e)
			}
		}
		assert.Equal(t, r.Value.Digest, nodeops.TreeDigest(synced))
		_, err = os.Lstat(filepath.Join(dst, "pwned"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
	}

	// A second sync sends nothing and costs two round trips per host:
	// the listing and the stamp.
	ct.reset()
	res = nodeops.SyncAll(ctx, ct, hosts, src, "shared/tree", nil)
	for _, r := range res {
		require.NoError(t, r.Err)
		assert.Zero(t, r.Value.FilesSent)
		assert.Zero(t, r.Value.BytesSent)
		assert.Zero(t, r.Value.DirsCreated)
		assert.Zero(t, r.Value.LinksMade)
		assert.Zero(t, r.Value.Updated)
		assert.Equal(t, nfiles, r.Value.Unchanged)
		runs, puts := ct.counts(r.Host)
		assert.Equal(t, 1, runs, r.Host)
		assert.Equal(t, 1, puts, r.Host)
		assert.Equal(t, want, snapshot(t, filepath.Join(hostDir(t, tr, r.Host), "shared", "tree")))
	}
}

func TestSyncChanges(t *testing.T) {
	type check func(t *testing.T, r nodeops.Result[nodeops.SyncResult], src, dst string)
	cases := []struct {
		name   string
		opts   *nodeops.SyncOptions
		change func(t *testing.T, src, dst string)
		same   bool // whether dst must equal src afterwards
		check  check
	}{{
		name: "changed file",
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.WriteFile(filepath.Join(src, "a/b/c/deep.txt"), []byte("new content"), 0o600))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.FilesSent)
			assert.Equal(t, int64(len("new content")), r.Value.BytesSent)
		},
	}, {
		name: "changed mode",
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.Chmod(filepath.Join(src, "with space.txt"), 0o640))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Zero(t, r.Value.FilesSent)
			assert.Equal(t, 1, r.Value.Updated)
		},
	}, {
		name: "changed time only",
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.Chtimes(filepath.Join(src, "$x"), past2, past2))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.FilesSent) // size and time compare, as rsync
		},
	}, {
		name: "changed file in read-only dir",
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.Chmod(filepath.Join(src, "ro"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, "ro/file"), []byte("changed"), 0o644))
			require.NoError(t, os.Chmod(filepath.Join(src, "ro"), 0o555))
			require.NoError(t, os.Chtimes(filepath.Join(src, "ro"), past2, past2))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.FilesSent)
		},
	}, {
		name: "deleted locally, kept",
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.Remove(filepath.Join(src, "-rf")))
			require.NoError(t, os.RemoveAll(filepath.Join(src, "a/b")))
			setDirTimes(t, src)
		},
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, dst string) {
			assert.Zero(t, r.Value.FilesDeleted)
			assert.FileExists(t, filepath.Join(dst, "-rf"))
			assert.FileExists(t, filepath.Join(dst, "a/b/c/deep.txt"))
		},
	}, {
		name: "deleted locally, deleted",
		opts: &nodeops.SyncOptions{Delete: true},
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.Remove(filepath.Join(src, "-rf")))
			require.NoError(t, os.RemoveAll(filepath.Join(src, "a/b")))
			setDirTimes(t, src)
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 5, r.Value.FilesDeleted) // -rf, a/b, a/b/c and its two files
			assert.Zero(t, r.Value.FilesSent)
		},
	}, {
		name: "extraneous remote file, deleted",
		opts: &nodeops.SyncOptions{Delete: true},
		change: func(t *testing.T, _, dst string) {
			require.NoError(t, os.WriteFile(filepath.Join(dst, "empty", "extra"), nil, 0o644))
			require.NoError(t, os.Chtimes(filepath.Join(dst, "empty"), past2, past2))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.FilesDeleted)
		},
	}, {
		name: "same size and time, content changed",
		change: func(t *testing.T, src, _ string) {
			p := filepath.Join(src, "bin/run.sh")
			require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho HI\n"), 0o755))
			require.NoError(t, os.Chtimes(p, past, past))
		},
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, dst string) {
			assert.Zero(t, r.Value.FilesSent)
			b, err := os.ReadFile(filepath.Join(dst, "bin/run.sh"))
			require.NoError(t, err)
			assert.Equal(t, "#!/bin/sh\necho hi\n", string(b))
		},
	}, {
		name: "same size and time, content changed, checksum",
		opts: &nodeops.SyncOptions{Checksum: true},
		change: func(t *testing.T, src, _ string) {
			p := filepath.Join(src, "bin/run.sh")
			require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho HI\n"), 0o755))
			require.NoError(t, os.Chtimes(p, past, past))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.FilesSent)
		},
	}, {
		name: "remote symlink where a local dir is",
		change: func(t *testing.T, _, dst string) {
			outside := t.TempDir()
			require.NoError(t, os.RemoveAll(filepath.Join(dst, "a")))
			require.NoError(t, os.Symlink(outside, filepath.Join(dst, "a")))
			t.Cleanup(func() {
				entries, err := os.ReadDir(outside)
				require.NoError(t, err)
				assert.Empty(t, entries, "a write went through the link")
			})
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, dst string) {
			assert.Equal(t, 3, r.Value.DirsCreated)
			fi, err := os.Lstat(filepath.Join(dst, "a"))
			require.NoError(t, err)
			assert.True(t, fi.IsDir())
		},
	}, {
		name: "remote dir where a local file and a link are",
		change: func(t *testing.T, _, dst string) {
			for _, p := range []string{"with space.txt", "a/link-in"} {
				require.NoError(t, os.Remove(filepath.Join(dst, p)))
				require.NoError(t, os.MkdirAll(filepath.Join(dst, p, "sub"), 0o755))
			}
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.FilesSent)
			assert.Equal(t, 1, r.Value.LinksMade)
			assert.Equal(t, 4, r.Value.FilesDeleted)
		},
	}, {
		name: "link retargeted",
		change: func(t *testing.T, src, _ string) {
			require.NoError(t, os.Remove(filepath.Join(src, "link-out")))
			require.NoError(t, os.Symlink("-elsewhere", filepath.Join(src, "link-out")))
			require.NoError(t, os.Chtimes(src, past2, past2))
		},
		same: true,
		check: func(t *testing.T, r nodeops.Result[nodeops.SyncResult], _, _ string) {
			assert.Equal(t, 1, r.Value.LinksMade)
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			src := t.TempDir()
			makeTree(t, src)
			tr := newLocal(t, "node1")
			dst := filepath.Join(hostDir(t, tr, "node1"), "dst")
			res := nodeops.SyncAll(ctx, tr, []string{"node1"}, src, "dst", nil)
			require.NoError(t, res[0].Err)
			require.Equal(t, snapshot(t, src), snapshot(t, dst))

			tc.change(t, src, dst)
			ct := newCounting(tr)
			res = nodeops.SyncAll(ctx, ct, []string{"node1"}, src, "dst", tc.opts)
			require.NoError(t, res[0].Err)
			if tc.same {
				assert.Equal(t, snapshot(t, src), snapshot(t, dst))
			}
			tc.check(t, res[0], src, dst)
			_, puts := ct.counts("node1")
			assert.Equal(t, res[0].Value.FilesSent+1, puts, "the files sent and the stamp")
		})
	}
}

func TestSyncErrors(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	tr := newLocal(t, "node1")

	res := nodeops.SyncAll(ctx, tr, []string{"node1", "nosuch"}, src, "dst", nil)
	require.Len(t, res, 2)
	assert.NoError(t, res[0].Err)
	assert.Equal(t, 1, res[0].Value.FilesSent)
	assert.ErrorIs(t, res[1].Err, transport.ErrUnknownHost)
	assert.Equal(t, "nosuch", res[1].Host)

	for name, args := range map[string][2]string{
		"file source":    {filepath.Join(src, "f"), ""},
		"bad stamp name": {src, "a/b"},
	} {
		res := nodeops.SyncAll(ctx, tr, []string{"node1"}, args[0], "dst", &nodeops.SyncOptions{StampName: args[1]})
		assert.ErrorIs(t, res[0].Err, transport.ErrInvalid, name)
	}
	res = nodeops.SyncAll(ctx, tr, []string{"node1"}, filepath.Join(src, "missing"), "dst", nil)
	assert.ErrorIs(t, res[0].Err, fs.ErrNotExist)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	res = nodeops.SyncAll(cctx, tr, []string{"node1"}, src, "dst2", nil)
	assert.ErrorIs(t, res[0].Err, context.Canceled)
}

func TestSyncSkipsSpecialFilesAndStampName(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, nodeops.DefaultStampName), []byte("mine"), 0o644))
	require.NoError(t, mkfifo(filepath.Join(src, "fifo")))
	tr := newLocal(t, "node1")
	res := nodeops.SyncAll(context.Background(), tr, []string{"node1"}, src, "", nil)
	require.NoError(t, res[0].Err)
	assert.ElementsMatch(t, []string{"fifo", nodeops.DefaultStampName}, res[0].Value.Skipped)
	assert.Equal(t, 1, res[0].Value.FilesSent)
	b, err := os.ReadFile(filepath.Join(hostDir(t, tr, "node1"), nodeops.DefaultStampName))
	require.NoError(t, err)
	assert.NotEqual(t, "mine", string(b))
}

func TestSyncSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 2, nil)
	st, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ct := newCounting(st)
	ctx := context.Background()
	hosts := c.Hosts()

	src := t.TempDir()
	nfiles := makeTree(t, src)
	before := time.Now()
	res := nodeops.SyncAll(ctx, ct, hosts, src, "shared/tree", nil)
	want := snapshot(t, src)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, nfiles, r.Value.FilesSent)
		dst := filepath.Join(c.Node(i+1).Home(), "shared", "tree")
		assert.Equal(t, want, snapshot(t, dst))
		checkStamp(t, dst, r.Value.Digest, before)
	}

	ct.reset()
	res = nodeops.SyncAll(ctx, ct, hosts, src, "shared/tree", nil)
	for _, r := range res {
		require.NoError(t, r.Err)
		assert.Zero(t, r.Value.FilesSent)
		assert.Equal(t, nfiles, r.Value.Unchanged)
		runs, puts := ct.counts(r.Host)
		assert.Equal(t, 1, runs, "the listing")
		assert.Equal(t, 1, puts, "the stamp")
	}

	// Changes, a link where a directory is, deletion and checksums.
	dst1 := filepath.Join(c.Node(1).Home(), "shared", "tree")
	require.NoError(t, os.RemoveAll(filepath.Join(dst1, "a")))
	require.NoError(t, os.Symlink(outside2(t), filepath.Join(dst1, "a")))
	require.NoError(t, os.Remove(filepath.Join(src, "-rf")))
	require.NoError(t, os.Chmod(filepath.Join(src, "bin/run.sh"), 0o700))
	p := filepath.Join(src, "$x")
	require.NoError(t, os.WriteFile(p, []byte("$X"), 0o600))
	require.NoError(t, os.Chtimes(p, past, past))
	setDirTimes(t, src)
	res = nodeops.SyncAll(ctx, ct, hosts, src, "shared/tree", &nodeops.SyncOptions{Delete: true, Checksum: true})
	want = snapshot(t, src)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, 1, r.Value.FilesDeleted, r.Host)
		dst := filepath.Join(c.Node(i+1).Home(), "shared", "tree")
		assert.Equal(t, want, snapshot(t, dst))
	}
}

// outside2 returns an empty directory that must stay empty.
func outside2(t *testing.T) string {
	d := t.TempDir()
	t.Cleanup(func() {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		assert.Empty(t, entries, "a write went through the link")
	})
	return d
}

// BenchmarkSyncUnchanged measures a sync of 1,000 files that are already
// on the host: the time, and the round trips (commands run) and Puts per
// host, on a local host and on a real sshd node.
func BenchmarkSyncUnchanged(b *testing.B) {
	src := b.TempDir()
	for i := 0; i < 1000; i++ {
		p := filepath.Join(src, "d"+itoa(i%20), "file "+itoa(i))
		require.NoError(b, os.MkdirAll(filepath.Dir(p), 0o755))
		sum := sha256.Sum256([]byte(itoa(i)))
		require.NoError(b, os.WriteFile(p, []byte(hex.EncodeToString(sum[:])), 0o644))
	}
	b.Run("local", func(b *testing.B) {
		benchSyncUnchanged(b, newLocal(b, "node1"), "node1", src)
	})
	b.Run("ssh", func(b *testing.B) {
		c := sshtest.StartCluster(b, 1, nil)
		st, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile()})
		require.NoError(b, err)
		b.Cleanup(func() { st.Close() })
		benchSyncUnchanged(b, st, c.Hosts()[0], src)
	})
}

func benchSyncUnchanged(b *testing.B, tr transport.Transport, host, src string) {
	ct := newCounting(tr)
	ctx := context.Background()
	res := nodeops.SyncAll(ctx, ct, []string{host}, src, "dst", nil)
	require.NoError(b, res[0].Err)
	require.Equal(b, 1000, res[0].Value.FilesSent)
	ct.reset()
	n := 0
	for b.Loop() {
		res := nodeops.SyncAll(ctx, ct, []string{host}, src, "dst", nil)
		if res[0].Err != nil || res[0].Value.FilesSent != 0 {
			b.Fatal(res[0].Err, res[0].Value.FilesSent)
		}
		n++
	}
	runs, puts := ct.counts(host)
	b.ReportMetric(float64(runs)/float64(n), "roundtrips/host")
	b.ReportMetric(float64(puts)/float64(n), "puts/host")
}

func itoa(i int) string { return strconv.Itoa(i) }

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o644) }
