package transporttest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

func testRoundTrip(t *testing.T, e *env) {
	binary := make([]byte, 0, 4*256)
	for i := 0; i < 4; i++ {
		for b := 0; b < 256; b++ {
			binary = append(binary, byte(b))
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"small", []byte("hello, world\n")},
		{"binary", binary},
		{"no trailing newline", []byte("a\r\nb\x00c")},
		{"several MiB", dataBytes(10, 5<<20+123)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.path(strings.ReplaceAll(tc.name, " ", "_"))
			e.put(e.a, p, tc.data, 0)
			got := e.mustGet(e.a, p)
			assert.True(t, bytes.Equal(tc.data, got), "Get returns what Put wrote (%d bytes put, %d got)", len(tc.data), len(got))
			out := e.stdout(e.a, transport.Command{Args: []string{"cat", p}})
			assert.True(t, bytes.Equal(tc.data, []byte(out)), "cat on the host sees what Put wrote")
		})
	}
	t.Run("streamed", func(t *testing.T) {
		const size = 24 << 20
		p := e.path("streamed.bin")
		require.NoError(t, e.tr.Put(e.ctx, e.a, p, data(11, size), 0))
		w := newHashWriter()
		require.NoError(t, e.tr.Get(e.ctx, e.a, p, w))
		assert.Equal(t, int64(size), w.n, "bytes got")
		assert.Equal(t, dataSum(11, size), w.sum(), "SHA-256 of what Get returned")
	})
	t.Run("replace", func(t *testing.T) {
		p := e.path("replace.txt")
		e.put(e.a, p, []byte("a longer first version\n"), 0)
		e.put(e.a, p, []byte("second\n"), 0)
		assert.Equal(t, "second\n", string(e.mustGet(e.a, p)))
	})
}

func testModes(t *testing.T, e *env) {
	for _, tc := range []struct {
		mode fs.FileMode
		want string
	}{
		{0, "644"},
		{0o644, "644"},
		{0o755, "755"},
		{0o600, "600"},
		{0o640, "640"},
		{0o700, "700"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			p := e.path("mode-" + tc.mode.String())
			e.put(e.a, p, []byte("x"), tc.mode)
			assert.Equal(t, tc.want+"\n", e.stdout(e.a, transport.Command{Args: []string{"stat", "-c", "%a", p}}))
		})
	}
	t.Run("replace changes mode", func(t *testing.T) {
		p := e.path("remode")
		e.put(e.a, p, []byte("x"), 0o755)
		e.put(e.a, p, []byte("y"), 0o600)
		assert.Equal(t, "600\n", e.stdout(e.a, transport.Command{Args: []string{"stat", "-c", "%a", p}}))
		assert.Equal(t, "y", string(e.mustGet(e.a, p)))
	})
}

func testParentDirs(t *testing.T, e *env) {
	p := e.path("a/b/c/d/file.txt")
	e.put(e.a, p, []byte("deep\n"), 0)
	assert.Equal(t, "deep\n", string(e.mustGet(e.a, p)))
	out := e.stdout(e.a, transport.Command{Args: []string{"cat", "file.txt"}, Dir: e.path("a/b/c/d")})
	assert.Equal(t, "deep\n", out)
}

func testRelativeAndAbsolute(t *testing.T, e *env) {
	home := strings.TrimSuffix(e.stdout(e.a, transport.Command{Args: []string{"pwd"}}), "\n")
	e.put(e.a, e.path("rel/b.txt"), []byte("relative\n"), 0)
	assert.Equal(t, "relative\n", e.stdout(e.a, transport.Command{Args: []string{"cat", e.path("rel/b.txt")}}), "a relative Put lands in the home")
	assert.Equal(t, "relative\n", string(e.mustGet(e.a, home+"/"+e.path("rel/b.txt"))), "Get of the absolute path")

	abs := home + "/" + e.path("abs/c.txt")
	e.put(e.a, abs, []byte("absolute\n"), 0)
	assert.Equal(t, "absolute\n", string(e.mustGet(e.a, e.path("abs/c.txt"))), "Get of the relative path")
	assert.Equal(t, "absolute\n", e.stdout(e.a, transport.Command{Args: []string{"cat", abs}}))
}

func testHostileNames(t *testing.T, e *env) {
	for _, name := range []string{
		"with space.txt",
		"it's.txt",
		`dq"uote.txt`,
		"$HOME.txt",
		"$(id).txt",
		"`id`.txt",
		"semi;colon|pipe&amp.txt",
		"star*.txt",
		"-leading-dash.txt",
		"ünïcødé ✓.txt",
		"new\nline.txt",
		"dir with space/inner 'file'.txt",
	} {
		t.Run(name, func(t *testing.T) {
			p := e.path(name)
			content := []byte("content of " + name)
			e.put(e.a, p, content, 0)
			assert.Equal(t, string(content), string(e.mustGet(e.a, p)))
			assert.Equal(t, string(content), e.stdout(e.a, transport.Command{Args: []string{"cat", p}}))
		})
	}
}

func testGetMissing(t *testing.T, e *env) {
	for _, p := range []string{e.path("missing.txt"), e.path("no/such/dir/missing.txt")} {
		var out bytes.Buffer
		err := e.tr.Get(e.ctx, e.a, p, &out)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Get %q", p)
		assert.False(t, transport.IsLost(err), "a missing file is not a lost host: %v", err)
		var ee *transport.ExitError
		assert.False(t, errors.As(err, &ee), "a missing file is not an ExitError: %v", err)
		assert.Zero(t, out.Len(), "nothing written for a missing file")
	}
}

// testPutAtomic holds a Put half way through its input and checks that the
// file on the host is still the old one.
func testPutAtomic(t *testing.T, e *env) {
	const half = 1 << 20
	p := e.path("atomic.bin")
	old := dataBytes(20, 256<<10)
	e.put(e.a, p, old, 0)

	r := newHoldReader(e.ctx, data(21, half), bytes.NewReader(dataBytes(22, half)))
	errc := make(chan error, 1)
	go func() { errc <- e.tr.Put(e.ctx, e.a, p, r, 0) }()
	select {
	case <-r.reached:
	case err := <-errc:
		t.Fatalf("Put returned before reading all its input: %v", err)
	}
	got, err := e.get(e.a, p)
	require.NoError(t, err, "Get during a Put")
	assert.True(t, bytes.Equal(old, got), "a Get during a Put sees the old file (got %d bytes)", len(got))
	out := e.stdout(e.a, transport.Command{Args: []string{"cat", p}})
	assert.True(t, bytes.Equal(old, []byte(out)), "cat during a Put sees the old file (got %d bytes)", len(out))

	close(r.release)
	require.NoError(t, <-errc)
	w := newHashWriter()
	require.NoError(t, e.tr.Get(e.ctx, e.a, p, w))
	want := newHashWriter()
	_, _ = io.Copy(want, io.MultiReader(data(21, half), bytes.NewReader(dataBytes(22, half))))
	assert.Equal(t, want.sum(), w.sum(), "after the Put, Get sees the new file")
}

func testPutReaderError(t *testing.T, e *env) {
	errBoom := errors.New("transporttest: reader failed")
	t.Run("new file", func(t *testing.T) {
		p := e.path("new/failed.bin")
		err := e.tr.Put(e.ctx, e.a, p, &errReader{data(30, 100<<10), errBoom}, 0)
		require.Error(t, err)
		assert.ErrorIs(t, err, errBoom, "Put returns the reader's error")
		_, err = e.get(e.a, p)
		assert.ErrorIs(t, err, fs.ErrNotExist, "a failed Put leaves no file")
	})
	t.Run("existing file", func(t *testing.T) {
		p := e.path("existing.txt")
		e.put(e.a, p, []byte("old\n"), 0)
		err := e.tr.Put(e.ctx, e.a, p, &errReader{data(31, 100<<10), errBoom}, 0)
		assert.ErrorIs(t, err, errBoom, "Put returns the reader's error")
		assert.Equal(t, "old\n", string(e.mustGet(e.a, p)), "a failed Put leaves the old file")
	})
}

// testPutCancel cancels a Put in the middle of its input; the input goes on
// (up to 64 MiB) after the cancellation, so a Put that ignores its context
// succeeds and fails the test.
func testPutCancel(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	p := e.path("cancelled.bin")
	r := newHoldReader(e.ctx, data(40, 1<<20), data(41, 64<<20))
	errc := make(chan error, 1)
	go func() { errc <- e.tr.Put(ctx, e.a, p, r, 0) }()
	select {
	case <-r.reached:
	case err := <-errc:
		t.Fatalf("Put returned before reading all its input: %v", err)
	}
	cancel()
	close(r.release)
	within(t, "Put after cancel", func() {
		assert.ErrorIs(t, <-errc, context.Canceled)
	})
	_, err := e.get(e.a, p)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a cancelled Put leaves no file")
}
