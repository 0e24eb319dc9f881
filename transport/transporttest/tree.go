package transporttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

// TreeHarness gives [RunTreeTests] a [transport.Tree] to test over the
// transports of a [Harness]. The Tree may be the transport's own (see
// [NativeTree]) or one written over the Transport methods, such as a shell
// fallback that runs commands with Run.
type TreeHarness interface {
	Harness

	// Tree returns the Tree to test, working on the hosts of tr, a
	// Transport made by MakeTransport. The suite closes tr, and expects
	// the Tree to fail with [transport.ErrClosed] once tr is closed.
	Tree(tr transport.Transport) transport.Tree
}

// TreeHarnessMaker makes the [TreeHarness] for one run of [RunTreeTests].
type TreeHarnessMaker func(ctx context.Context, t *testing.T) (TreeHarness, error)

// NativeTree returns a TreeHarness over h whose Tree is the one the
// transports of h implement themselves, found as [transport.Capability]
// finds it. Tree returns nil for a transport that has none, and the suite
// then fails.
func NativeTree(h Harness) TreeHarness { return nativeTree{h} }

type nativeTree struct{ Harness }

func (n nativeTree) Tree(tr transport.Transport) transport.Tree {
	tree, _ := transport.Capability[transport.Tree](tr)
	return tree
}

// RunTreeTests runs the checks of the optional [transport.Tree] interface
// (rule R7) against the Tree of the harness from newHarness: listing
// (entries, modes, sizes, digests, links not followed, a missing directory,
// a file given as the directory), every [transport.TreeOpKind], stopping at
// the first failing op, names a shell would misread, paths relative to the
// home, cancellation, unknown hosts (rule R1) and Close (rule R5).
//
// The suite seeds files with Put, reads them back with Get and checks what
// the Tree did with ListTree; it runs no command on the hosts besides
// "pwd", so any Tree over any conforming Transport can pass it.
// [RunConformanceTests] runs the same checks on a transport's own Tree.
func RunTreeTests(t *testing.T, newHarness TreeHarnessMaker) {
	t.Helper()
	h, err := newHarness(context.Background(), t)
	require.NoError(t, err, "making the tree harness")
	t.Cleanup(h.Close)
	hosts := h.Hosts()
	require.GreaterOrEqual(t, len(hosts), 2, "Harness.Hosts must return at least two hosts")
	s := &suite{h: h, hosts: hosts}
	t.Run("R7Tree", func(t *testing.T) {
		runTreeChecks(t, s.newEnv(t, "R7Tree"), h.Tree)
	})
}

// treeEnv is what one tree check works with.
type treeEnv struct {
	*env
	tree   transport.Tree
	treeOf func(transport.Transport) transport.Tree
}

func runTreeChecks(t *testing.T, e *env, treeOf func(transport.Transport) transport.Tree) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e *treeEnv)
	}{
		{"ListMissing", testTreeListMissing},
		{"ListNotDir", testTreeListNotDir},
		{"ListEntries", testTreeListEntries},
		{"ListRelative", testTreeListRelative},
		{"Mkdir", testTreeMkdir},
		{"Chmod", testTreeChmod},
		{"Chtimes", testTreeChtimes},
		{"Symlink", testTreeSymlink},
		{"RemoveAll", testTreeRemoveAll},
		{"StopsAtFirstFailure", testTreeStops},
		{"HostileNames", testTreeHostileNames},
		{"Cancelled", testTreeCancelled},
		{"UnknownHost", testTreeUnknownHost},
		{"Closed", testTreeClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := *e
			sub.t = t
			sub.dir = e.dir + "/" + tc.name
			tree := treeOf(sub.tr)
			require.NotNil(t, tree, "the harness returned a nil Tree")
			tc.fn(t, &treeEnv{env: &sub, tree: tree, treeOf: treeOf})
		})
	}
}

// list lists dir (relative to the check's directory when not absolute) and
// returns the entries by path.
func (e *treeEnv) list(dir string, sums bool) map[string]transport.Entry {
	e.t.Helper()
	entries, err := e.tree.ListTree(e.ctx, e.a, dir, sums)
	require.NoError(e.t, err, "ListTree %q", dir)
	m := make(map[string]transport.Entry, len(entries))
	for _, en := range entries {
		_, dup := m[en.Path]
		assert.False(e.t, dup, "ListTree lists %q twice", en.Path)
		m[en.Path] = en
	}
	return m
}

func (e *treeEnv) apply(dir string, ops ...transport.TreeOp) {
	e.t.Helper()
	require.NoError(e.t, e.tree.ApplyTree(e.ctx, e.a, dir, ops), "ApplyTree %q", dir)
}

func paths(m map[string]transport.Entry) []string {
	var ps []string
	for p := range m {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func testTreeListMissing(t *testing.T, e *treeEnv) {
	entries, err := e.tree.ListTree(e.ctx, e.a, e.path("no such dir"), true)
	require.NoError(t, err, "a missing dir is not an error")
	assert.Empty(t, entries, "a missing dir is an empty list")
}

func testTreeListNotDir(t *testing.T, e *treeEnv) {
	e.put(e.a, e.path("file"), []byte("x"), 0)
	_, err := e.tree.ListTree(e.ctx, e.a, e.path("file"), false)
	assert.ErrorIs(t, err, transport.ErrNotDir, "ListTree of a file")
	assert.False(t, transport.IsLost(err), "a file given as dir is not a lost host: %v", err)
	agree(t, err, "ListTree of a file")
}

func testTreeListEntries(t *testing.T, e *treeEnv) {
	big := dataBytes(70, 100<<10)
	e.put(e.a, e.path("t/a.txt"), []byte("hello\n"), 0o644)
	e.put(e.a, e.path("t/bin/run.sh"), []byte("#!/bin/sh\n"), 0o755)
	e.put(e.a, e.path("t/deep/er/x.bin"), big, 0o600)
	e.put(e.a, e.path("t/empty"), nil, 0)
	e.apply(e.path("t"),
		transport.TreeOp{Kind: transport.OpSymlink, Path: "link", Target: "a.txt"},
		transport.TreeOp{Kind: transport.OpSymlink, Path: "dirlink", Target: "deep"},
		transport.TreeOp{Kind: transport.OpSymlink, Path: "dangling", Target: "no/such/target"},
	)
	for _, sums := range []bool{false, true} {
		m := e.list(e.path("t"), sums)
		assert.Equal(t, []string{"a.txt", "bin", "bin/run.sh", "dangling", "deep", "deep/er", "deep/er/x.bin", "dirlink", "empty", "link"}, paths(m),
			"every entry under dir, without dir itself and nothing under a link")
		for _, tc := range []struct {
			path string
			mode fs.FileMode
			data []byte
		}{
			{"a.txt", 0o644, []byte("hello\n")},
			{"bin/run.sh", 0o755, []byte("#!/bin/sh\n")},
			{"deep/er/x.bin", 0o600, big},
			{"empty", 0o644, nil},
		} {
			en := m[tc.path]
			assert.Equal(t, tc.mode, en.Mode, "%s: Mode", tc.path)
			assert.Equal(t, int64(len(tc.data)), en.Size, "%s: Size", tc.path)
			assert.False(t, en.ModTime.IsZero(), "%s: ModTime", tc.path)
			if sums {
				assert.Equal(t, hexSum(tc.data), en.Sum, "%s: Sum", tc.path)
			} else {
				assert.Empty(t, en.Sum, "%s: Sum is empty unless asked for", tc.path)
			}
		}
		for _, d := range []string{"bin", "deep", "deep/er"} {
			assert.True(t, m[d].Mode.IsDir(), "%s is a directory: %v", d, m[d].Mode)
			assert.Empty(t, m[d].Sum, "%s: a directory has no Sum", d)
		}
		for link, target := range map[string]string{"link": "a.txt", "dirlink": "deep", "dangling": "no/such/target"} {
			assert.Equal(t, fs.ModeSymlink, m[link].Mode.Type(), "%s is a symbolic link", link)
			assert.Equal(t, target, m[link].Target, "%s: Target", link)
			assert.Empty(t, m[link].Sum, "%s: a link has no Sum", link)
		}
	}
}

func testTreeListRelative(t *testing.T, e *treeEnv) {
	home := strings.TrimSuffix(e.stdout(e.a, transport.Command{Args: []string{"pwd"}}), "\n")
	e.put(e.a, e.path("r/f"), []byte("f"), 0)
	rel := e.list(e.path("r"), false)
	abs := e.list(home+"/"+e.path("r"), false)
	assert.Equal(t, []string{"f"}, paths(rel), "a relative dir is relative to the home")
	assert.Equal(t, paths(rel), paths(abs), "the same dir by its absolute path")

	top := e.list("", false)
	first := strings.SplitN(e.dir, "/", 2)[0]
	assert.True(t, top[first].Mode.IsDir(), "an empty dir is the home directory, which holds %q", first)

	e.apply(e.path("made/by/apply"), transport.TreeOp{Kind: transport.OpMkdir, Path: "d", Mode: 0o755})
	assert.Contains(t, paths(e.list(e.path("made"), false)), "by/apply/d", "ApplyTree creates dir and its parents, relative to the home")
}

func testTreeMkdir(t *testing.T, e *treeEnv) {
	d := e.path("m")
	e.put(e.a, d+"/keep/file", []byte("kept"), 0)
	e.put(e.a, d+"/was-a-file", []byte("x"), 0)
	e.apply(d,
		transport.TreeOp{Kind: transport.OpMkdir, Path: "new", Mode: 0o755},
		transport.TreeOp{Kind: transport.OpMkdir, Path: "new/sub", Mode: 0o700},
		transport.TreeOp{Kind: transport.OpMkdir, Path: "keep", Mode: 0o750},
		transport.TreeOp{Kind: transport.OpMkdir, Path: "was-a-file", Mode: 0o755},
	)
	m := e.list(d, false)
	assert.Equal(t, fs.ModeDir|0o755, m["new"].Mode, "new")
	assert.Equal(t, fs.ModeDir|0o700, m["new/sub"].Mode, "new/sub")
	assert.Equal(t, fs.ModeDir|0o750, m["keep"].Mode, "an existing directory is kept and given Mode")
	assert.Equal(t, "kept", string(e.mustGet(e.a, d+"/keep/file")), "what an existing directory holds is kept")
	assert.Equal(t, fs.ModeDir|0o755, m["was-a-file"].Mode, "a file at Path is replaced by the directory")
}

func testTreeChmod(t *testing.T, e *treeEnv) {
	d := e.path("c")
	e.put(e.a, d+"/f", []byte("x"), 0o644)
	e.put(e.a, d+"/sub/g", []byte("y"), 0o644)
	e.apply(d,
		transport.TreeOp{Kind: transport.OpChmod, Path: "f", Mode: 0o600},
		transport.TreeOp{Kind: transport.OpChmod, Path: "sub", Mode: 0o700},
		transport.TreeOp{Kind: transport.OpChmod, Path: ".", Mode: 0o750},
	)
	m := e.list(d, false)
	assert.Equal(t, fs.FileMode(0o600), m["f"].Mode, "f")
	assert.Equal(t, fs.ModeDir|0o700, m["sub"].Mode, "sub")
	assert.Equal(t, "x", string(e.mustGet(e.a, d+"/f")), "Chmod keeps the content")
	parent := e.list(e.dir, false)
	assert.Equal(t, fs.ModeDir|0o750, parent["c"].Mode, `Chmod of "." changes dir itself`)
}

func testTreeChtimes(t *testing.T, e *treeEnv) {
	d := e.path("ct")
	e.put(e.a, d+"/f", []byte("x"), 0)
	e.put(e.a, d+"/sub/g", []byte("y"), 0)
	e.apply(d, transport.TreeOp{Kind: transport.OpSymlink, Path: "l", Target: "f"})
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	e.apply(d,
		transport.TreeOp{Kind: transport.OpChtimes, Path: "f", ModTime: when},
		transport.TreeOp{Kind: transport.OpChtimes, Path: "sub", ModTime: when.Add(time.Hour)},
		transport.TreeOp{Kind: transport.OpChtimes, Path: "l", ModTime: when.Add(2 * time.Hour)},
		transport.TreeOp{Kind: transport.OpChtimes, Path: ".", ModTime: when.Add(3 * time.Hour)},
	)
	m := e.list(d, false)
	assert.Equal(t, when.Unix(), m["f"].ModTime.Unix(), "f")
	assert.Equal(t, when.Add(time.Hour).Unix(), m["sub"].ModTime.Unix(), "sub")
	assert.Equal(t, when.Add(2*time.Hour).Unix(), m["l"].ModTime.Unix(), "a link's own time")
	assert.Equal(t, when.Unix(), m["f"].ModTime.Unix(), "Chtimes of a link leaves its target alone")
	parent := e.list(e.dir, false)
	assert.Equal(t, when.Add(3*time.Hour).Unix(), parent["ct"].ModTime.Unix(), `Chtimes of "." changes dir itself`)
}

func testTreeSymlink(t *testing.T, e *treeEnv) {
	d := e.path("s")
	e.put(e.a, d+"/file", []byte("x"), 0)
	e.put(e.a, d+"/dir/inner", []byte("y"), 0)
	e.put(e.a, d+"/target", []byte("target\n"), 0)
	e.apply(d,
		transport.TreeOp{Kind: transport.OpSymlink, Path: "new", Target: "target"},
		transport.TreeOp{Kind: transport.OpSymlink, Path: "file", Target: "target"},
		transport.TreeOp{Kind: transport.OpSymlink, Path: "dir", Target: "target"},
		transport.TreeOp{Kind: transport.OpSymlink, Path: "new", Target: "elsewhere"},
		transport.TreeOp{Kind: transport.OpSymlink, Path: "abs", Target: "/no/such/abs target"},
	)
	m := e.list(d, false)
	assert.Equal(t, []string{"abs", "dir", "file", "new", "target"}, paths(m))
	for link, target := range map[string]string{"new": "elsewhere", "file": "target", "dir": "target", "abs": "/no/such/abs target"} {
		assert.Equal(t, fs.ModeSymlink, m[link].Mode.Type(), "%s is a link", link)
		assert.Equal(t, target, m[link].Target, "%s: Target", link)
	}
	assert.Equal(t, "target\n", string(e.mustGet(e.a, d+"/file")), "Get through the link reads its target")
}

func testTreeRemoveAll(t *testing.T, e *treeEnv) {
	d := e.path("rm")
	e.put(e.a, d+"/gone/a", []byte("a"), 0)
	e.put(e.a, d+"/gone/b/c", []byte("c"), 0)
	e.put(e.a, d+"/file", []byte("f"), 0)
	e.put(e.a, d+"/keep/inner", []byte("kept"), 0)
	e.apply(d, transport.TreeOp{Kind: transport.OpSymlink, Path: "link", Target: "keep"})
	e.apply(d,
		transport.TreeOp{Kind: transport.OpRemoveAll, Path: "gone"},
		transport.TreeOp{Kind: transport.OpRemoveAll, Path: "file"},
		transport.TreeOp{Kind: transport.OpRemoveAll, Path: "link"},
		transport.TreeOp{Kind: transport.OpRemoveAll, Path: "never/was"},
	)
	assert.Equal(t, []string{"keep", "keep/inner"}, paths(e.list(d, false)))
	assert.Equal(t, "kept", string(e.mustGet(e.a, d+"/keep/inner")), "removing a link leaves its target")
}

func testTreeStops(t *testing.T, e *treeEnv) {
	d := e.path("st")
	err := e.tree.ApplyTree(e.ctx, e.a, d, []transport.TreeOp{
		{Kind: transport.OpMkdir, Path: "a", Mode: 0o755},
		{Kind: transport.OpChmod, Path: "missing", Mode: 0o644},
		{Kind: transport.OpMkdir, Path: "b", Mode: 0o755},
	})
	require.Error(t, err, "Chmod of a missing path fails")
	assert.False(t, transport.IsLost(err), "a failed op is not a lost host: %v", err)
	agree(t, err, "a failed op")
	assert.Equal(t, []string{"a"}, paths(e.list(d, false)), "the ops before the failure are applied, none after")
}

func testTreeHostileNames(t *testing.T, e *treeEnv) {
	d := e.path("h")
	names := []string{"with space", "it's", `dq"uote`, "$HOME", "$(id)", "`id`", "a;b|c&d", "star*", "-dash", "~", "~user", "new\nline", "back\\slash", "ünï ✓"}
	var ops []transport.TreeOp
	for _, n := range names {
		e.put(e.a, d+"/files/"+n, []byte(n), 0)
		ops = append(ops,
			transport.TreeOp{Kind: transport.OpMkdir, Path: "dirs/" + n, Mode: 0o755},
			transport.TreeOp{Kind: transport.OpSymlink, Path: "links/" + n, Target: "../files/" + n},
			transport.TreeOp{Kind: transport.OpChmod, Path: "files/" + n, Mode: 0o600},
		)
	}
	e.apply(d, append([]transport.TreeOp{
		{Kind: transport.OpMkdir, Path: "dirs", Mode: 0o755},
		{Kind: transport.OpMkdir, Path: "links", Mode: 0o755},
	}, ops...)...)
	m := e.list(d, true)
	for _, n := range names {
		assert.Equal(t, hexSum([]byte(n)), m["files/"+n].Sum, "file %q", n)
		assert.Equal(t, fs.FileMode(0o600), m["files/"+n].Mode, "file %q", n)
		assert.True(t, m["dirs/"+n].Mode.IsDir(), "dir %q", n)
		assert.Equal(t, "../files/"+n, m["links/"+n].Target, "link %q", n)
	}
	assert.Len(t, m, 3+3*len(names), "nothing else under dir: %q", paths(m))
}

func testTreeCancelled(t *testing.T, e *treeEnv) {
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.tree.ListTree(ctx, e.a, e.dir, false)
	assert.ErrorIs(t, err, context.Canceled, "ListTree with a cancelled context")
	err = e.tree.ApplyTree(ctx, e.a, e.path("never"), []transport.TreeOp{{Kind: transport.OpMkdir, Path: "d", Mode: 0o755}})
	assert.ErrorIs(t, err, context.Canceled, "ApplyTree with a cancelled context")
	_, err = e.get(e.a, e.path("never"))
	assert.Error(t, err, "a cancelled ApplyTree made nothing")
	assert.NotContains(t, paths(e.list(e.dir, false)), "never", "a cancelled ApplyTree made nothing")
}

func testTreeUnknownHost(t *testing.T, e *treeEnv) {
	host := e.s.h.UnknownHost()
	_, err := e.tree.ListTree(e.ctx, host, e.dir, false)
	requireUnknown(t, err, "ListTree")
	requireUnknown(t, e.tree.ApplyTree(e.ctx, host, e.dir, []transport.TreeOp{{Kind: transport.OpMkdir, Path: "d", Mode: 0o755}}), "ApplyTree")
}

func testTreeClosed(t *testing.T, e *treeEnv) {
	tr := e.newTransport()
	tree := e.treeOf(tr)
	require.NotNil(t, tree)
	require.NoError(t, tr.Close())
	_, err := tree.ListTree(e.ctx, e.a, e.dir, false)
	assert.ErrorIs(t, err, transport.ErrClosed, "R5: ListTree after Close")
	agree(t, err, "ListTree after Close")
	err = tree.ApplyTree(e.ctx, e.a, e.dir, []transport.TreeOp{{Kind: transport.OpMkdir, Path: "d", Mode: 0o755}})
	assert.ErrorIs(t, err, transport.ErrClosed, "R5: ApplyTree after Close")
	agree(t, err, "ApplyTree after Close")
}
