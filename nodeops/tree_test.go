package nodeops_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/nodeops"
	"dproc/transport"
)

func TestListTree(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1")
	home := hostDir(t, tr, "node1")
	dir := filepath.Join(home, "t")
	makeTree(t, dir)

	for _, sums := range []bool{false, true} {
		entries, err := nodeops.ListTree(ctx, tr, "node1", "t", sums)
		require.NoError(t, err)
		var want []transport.Entry
		require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			if p == dir {
				return nil
			}
			fi, err := os.Lstat(p)
			require.NoError(t, err)
			rel, _ := filepath.Rel(dir, p)
			e := transport.Entry{Path: filepath.ToSlash(rel), Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
			if fi.Mode()&fs.ModeSymlink != 0 {
				e.Target, _ = os.Readlink(p)
			}
			if fi.Mode().IsRegular() && sums {
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				s := sha256.Sum256(b)
				e.Sum = hex.EncodeToString(s[:])
			}
			if fi.IsDir() {
				e.Size = entries[indexOf(entries, e.Path)].Size // what the host says
			}
			want = append(want, e)
			return nil
		}))
		require.Len(t, entries, len(want))
		for i := range want {
			assert.Equal(t, want[i].Path, entries[i].Path)
			assert.Equal(t, want[i].Mode, entries[i].Mode, want[i].Path)
			assert.Equal(t, want[i].Size, entries[i].Size, want[i].Path)
			assert.True(t, want[i].ModTime.Equal(entries[i].ModTime), "%s: %v != %v", want[i].Path, want[i].ModTime, entries[i].ModTime)
			assert.Equal(t, want[i].Target, entries[i].Target, want[i].Path)
			assert.Equal(t, want[i].Sum, entries[i].Sum, want[i].Path)
		}
	}

	// A missing directory is an empty list; a file is an error.
	entries, err := nodeops.ListTree(ctx, tr, "node1", "no such dir", false)
	require.NoError(t, err)
	assert.Empty(t, entries)
	_, err = nodeops.ListTree(ctx, tr, "node1", "t/bin/run.sh", false)
	assert.ErrorIs(t, err, transport.ErrFailed)
	_, err = nodeops.ListTree(ctx, tr, "nosuch", "t", false)
	assert.ErrorIs(t, err, transport.ErrUnknownHost)
}

func indexOf(es []transport.Entry, p string) int {
	for i, e := range es {
		if e.Path == p {
			return i
		}
	}
	return -1
}

func TestApplyTree(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1")
	home := hostDir(t, tr, "node1")
	dir := filepath.Join(home, "-d $x")
	when := time.Date(2020, 2, 3, 4, 5, 6, 700000000, time.UTC)

	// Things in the way.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "was dir", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "was file"), nil, 0o644))
	outside := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "was link")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "gone", "deep"), 0o755))

	ops := []transport.TreeOp{
		{Kind: transport.OpMkdir, Path: "new\ndir", Mode: 0o750},
		{Kind: transport.OpMkdir, Path: "new\ndir/-x", Mode: 0o700},
		{Kind: transport.OpMkdir, Path: "was file", Mode: 0o755},
		{Kind: transport.OpMkdir, Path: "was link", Mode: 0o755},
		{Kind: transport.OpSymlink, Path: "was dir", Target: "-> it's $x"},
		{Kind: transport.OpSymlink, Path: "new\ndir/ln", Target: "../was file"},
		{Kind: transport.OpSymlink, Path: "new\ndir/ln", Target: "/etc"},
		{Kind: transport.OpChmod, Path: "new\ndir/-x", Mode: 0o711 | fs.ModeSetgid},
		{Kind: transport.OpChmod, Path: "new\ndir/ln", Mode: 0o600}, // a link: left alone
		{Kind: transport.OpChtimes, Path: "new\ndir/ln", ModTime: when},
		{Kind: transport.OpChtimes, Path: "was file", ModTime: when},
		{Kind: transport.OpRemoveAll, Path: "gone"},
		{Kind: transport.OpRemoveAll, Path: "never there"},
		{Kind: transport.OpMkdir, Path: "new\ndir/$d 'q'", Mode: 0o700},
		{Kind: transport.OpChtimes, Path: ".", ModTime: when},
	}
	require.NoError(t, nodeops.ApplyTree(ctx, tr, "node1", "-d $x", ops))

	stat := func(p string) fs.FileInfo {
		fi, err := os.Lstat(filepath.Join(dir, p))
		require.NoError(t, err, p)
		return fi
	}
	assert.Equal(t, fs.ModeDir|0o750, stat("new\ndir").Mode())
	assert.Equal(t, fs.ModeDir|fs.ModeSetgid|0o711, stat("new\ndir/-x").Mode())
	assert.Equal(t, fs.ModeDir|0o755, stat("was file").Mode())
	assert.True(t, when.Equal(stat("was file").ModTime()))
	assert.Equal(t, fs.ModeDir|0o755, stat("was link").Mode())
	assert.True(t, stat("was dir").Mode()&fs.ModeSymlink != 0)
	target, err := os.Readlink(filepath.Join(dir, "was dir"))
	require.NoError(t, err)
	assert.Equal(t, "-> it's $x", target)
	target, err = os.Readlink(filepath.Join(dir, "new\ndir/ln"))
	require.NoError(t, err)
	assert.Equal(t, "/etc", target)
	assert.True(t, when.Equal(stat("new\ndir/ln").ModTime()))
	assert.True(t, when.Equal(stat(".").ModTime()))
	_, err = os.Lstat(filepath.Join(dir, "gone"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	assert.Equal(t, fs.ModeDir|0o700, stat("new\ndir/$d 'q'").Mode())

	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, entries)
	// No temporary file is left behind.
	entries, err = os.ReadDir(filepath.Join(dir, "new\ndir"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".dproc-")
	}

	// ApplyTree makes dir, even with no ops.
	require.NoError(t, nodeops.ApplyTree(ctx, tr, "node1", "x/y", nil))
	assert.DirExists(t, filepath.Join(home, "x/y"))
}

func TestApplyTreeStopsAtFirstFailure(t *testing.T) {
	ctx := context.Background()
	tr := newLocal(t, "node1")
	err := nodeops.ApplyTree(ctx, tr, "node1", "d", []transport.TreeOp{
		{Kind: transport.OpMkdir, Path: "a", Mode: 0o755},
		{Kind: transport.OpChmod, Path: "missing", Mode: 0o644},
		{Kind: transport.OpMkdir, Path: "b", Mode: 0o755},
	})
	assert.ErrorIs(t, err, transport.ErrFailed)
	home := hostDir(t, tr, "node1")
	assert.DirExists(t, filepath.Join(home, "d/a"))
	assert.NoDirExists(t, filepath.Join(home, "d/b"))
}

func TestApplyTreeLargeScript(t *testing.T) {
	// More than the 128 KiB a single command-line argument may hold.
	ctx := context.Background()
	tr := newLocal(t, "node1")
	dir := filepath.Join(hostDir(t, tr, "node1"), "big")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var ops []transport.TreeOp
	long := strings.Repeat("x", 200)
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("%s%04d", long, i)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o644))
		ops = append(ops, transport.TreeOp{Kind: transport.OpRemoveAll, Path: name})
	}
	ops = append(ops, transport.TreeOp{Kind: transport.OpMkdir, Path: "done", Mode: 0o755})
	require.NoError(t, nodeops.ApplyTree(ctx, tr, "node1", "big", ops))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "done", entries[0].Name())
}

func TestApplyTreeInvalid(t *testing.T) {
	ct := newCounting(newLocal(t, "node1"))
	for _, op := range []transport.TreeOp{
		{Kind: transport.OpMkdir, Path: ""},
		{Kind: transport.OpMkdir, Path: "."},
		{Kind: transport.OpRemoveAll, Path: "."},
		{Kind: transport.OpMkdir, Path: "/etc"},
		{Kind: transport.OpMkdir, Path: ".."},
		{Kind: transport.OpMkdir, Path: "../x"},
		{Kind: transport.OpMkdir, Path: "a/../../x"},
		{Kind: transport.OpMkdir, Path: "a//b"},
		{Kind: transport.OpMkdir, Path: "a/"},
		{Kind: transport.OpMkdir, Path: "a\x00b"},
		{Kind: transport.OpSymlink, Path: "l"},
		{Kind: 0, Path: "x"},
		{Kind: 99, Path: "x"},
	} {
		err := nodeops.ApplyTree(context.Background(), ct, "node1", "d", []transport.TreeOp{op})
		assert.ErrorIs(t, err, transport.ErrInvalid, "%+v", op)
	}
	runs, _ := ct.counts("node1")
	assert.Zero(t, runs)
}

// nativeTree is a Transport with a Tree of its own that records calls.
type nativeTree struct {
	*counting
	listed, applied int
	ops             []transport.TreeOp
}

func (n *nativeTree) ListTree(ctx context.Context, host, dir string, sums bool) ([]transport.Entry, error) {
	n.listed++
	return []transport.Entry{{Path: "b", Mode: 0o644}, {Path: "a", Mode: fs.ModeDir | 0o755}}, nil
}

func (n *nativeTree) ApplyTree(ctx context.Context, host, dir string, ops []transport.TreeOp) error {
	n.applied++
	n.ops = ops
	return nil
}

func TestTreeUsesNativeImplementation(t *testing.T) {
	n := &nativeTree{counting: newCounting(newLocal(t, "node1"))}
	entries, err := nodeops.ListTree(context.Background(), n, "node1", "d", false)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, []string{entries[0].Path, entries[1].Path}, "sorted by path")
	ops := []transport.TreeOp{{Kind: transport.OpRemoveAll, Path: "x"}}
	require.NoError(t, nodeops.ApplyTree(context.Background(), n, "node1", "d", ops))
	assert.Equal(t, ops, n.ops)
	assert.Equal(t, 1, n.listed)
	assert.Equal(t, 1, n.applied)
	runs, _ := n.counts("node1")
	assert.Zero(t, runs)
}

func TestParseStamp(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		digest string
	}{
		{"synced 2026-11-28T13:40:00.123456789Z\ndigest abc\n", true, "abc"},
		{"synced 2026-11-28T13:40:00Z\n", true, ""},
		{"digest abc\n", false, ""},
		{"synced yesterday\ndigest abc\n", false, ""},
		{"synced 2026-11-28T13:40:00Z\nother x\n", false, ""},
		{"", false, ""},
	}
	for _, c := range cases {
		st, err := nodeops.ParseStamp([]byte(c.in))
		if !c.ok {
			assert.Error(t, err, "%q", c.in)
			continue
		}
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.digest, st.Digest)
		assert.Equal(t, 2026, st.Time.Year())
	}
}

func TestTreeDigest(t *testing.T) {
	base := []transport.Entry{
		{Path: "d", Mode: fs.ModeDir | 0o755},
		{Path: "d/f", Mode: 0o644, Size: 3, Sum: "aa"},
		{Path: "l", Mode: fs.ModeSymlink | 0o777, Target: "d/f"},
	}
	d := nodeops.TreeDigest(base)
	assert.Len(t, d, 64)

	reordered := []transport.Entry{base[2], base[0], base[1]}
	assert.Equal(t, d, nodeops.TreeDigest(reordered), "order does not count")
	timed := append([]transport.Entry{}, base...)
	timed[1].ModTime = time.Now()
	assert.Equal(t, d, nodeops.TreeDigest(timed), "times do not count")
	special := append([]transport.Entry{}, base...)
	special = append(special, transport.Entry{Path: "p", Mode: fs.ModeNamedPipe | 0o644})
	assert.Equal(t, d, nodeops.TreeDigest(special), "special files do not count")

	for name, change := range map[string]func(es []transport.Entry){
		"mode":   func(es []transport.Entry) { es[1].Mode = 0o600 },
		"setuid": func(es []transport.Entry) { es[1].Mode |= fs.ModeSetuid },
		"sum":    func(es []transport.Entry) { es[1].Sum = "bb" },
		"size":   func(es []transport.Entry) { es[1].Size = 4 },
		"target": func(es []transport.Entry) { es[2].Target = "d" },
		"path":   func(es []transport.Entry) { es[2].Path = "m" },
		"type":   func(es []transport.Entry) { es[0].Mode = 0o755 },
	} {
		es := append([]transport.Entry{}, base...)
		change(es)
		assert.NotEqual(t, d, nodeops.TreeDigest(es), name)
	}
}
