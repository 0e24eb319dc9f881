package memtransport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/memtransport"
	"dproc/transport/transporttest"
)

// harness serves the conformance suite: its transports share the hosts "a"
// and "b" and the suite's shell lines that are not simple commands.
type harness struct{ base *memtransport.Transport }

func (h harness) MakeTransport(context.Context) (transport.Transport, error) {
	return h.base.Share(), nil
}

func (harness) Hosts() []string     { return []string{"a", "b"} }
func (harness) UnknownHost() string { return "no-such-host" }
func (h harness) Close()            { _ = h.base.Close() }

// LostHost names a host that is set down: every call on it is lost.
func (harness) LostHost() string { return "down" }

func newHarness() harness {
	base := memtransport.New(&memtransport.Options{Hosts: []string{"a", "b"}})
	base.AddHost("down").SetDown(true)
	registerSuiteShellLines(base)
	return harness{base}
}

func copyTo(w io.Writer, p *memtransport.Process) int {
	if _, err := io.Copy(w, p.Stdin); err != nil {
		return 1
	}
	return 0
}

// registerSuiteShellLines registers the suite's shell lines with pipes,
// redirections and lists; "exit 3" needs nothing, being a simple command.
func registerSuiteShellLines(tr *memtransport.Transport) {
	tr.Handle(transporttest.ShellOopsExit5, func(_ context.Context, p *memtransport.Process) int {
		return p.Fail(5, "oops")
	})
	tr.Handle(transporttest.ShellCatToStderr, func(_ context.Context, p *memtransport.Process) int {
		return copyTo(p.Stderr, p)
	})
	tr.Handle(transporttest.ShellCatThenDone, func(_ context.Context, p *memtransport.Process) int {
		code := copyTo(p.Stdout, p)
		fmt.Fprintln(p.Stderr, "done")
		return code
	})
	tr.Handle(transporttest.ShellCatToStderrExit7, func(_ context.Context, p *memtransport.Process) int {
		copyTo(p.Stderr, p)
		return 7
	})
}

func TestConformance(t *testing.T) {
	transporttest.RunConformanceTests(t, func(context.Context, *testing.T) (transporttest.Harness, error) {
		return newHarness(), nil
	})
}

// TestTree runs the Tree suite on memtransport's own Tree.
func TestTree(t *testing.T) {
	transporttest.RunTreeTests(t, func(context.Context, *testing.T) (transporttest.TreeHarness, error) {
		return transporttest.NativeTree(newHarness()), nil
	})
}

// newTransport returns a transport with hosts "a" and "b", closed at the end
// of the test.
func newTransport(t *testing.T) (*memtransport.Transport, *memtransport.Host) {
	t.Helper()
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"a", "b"}})
	t.Cleanup(func() { _ = tr.Close() })
	return tr, tr.Host("a")
}

// run runs cmd on host and returns its output.
func run(ctx context.Context, tr transport.Transport, host string, cmd transport.Command) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = tr.Run(ctx, host, &cmd)
	return out.String(), errOut.String(), err
}

func args(a ...string) transport.Command { return transport.Command{Args: a} }

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)
	return ee.Code
}

func TestZeroValue(t *testing.T) {
	var tr memtransport.Transport
	assert.Nil(t, tr.Host("x"))
	require.ErrorIs(t, tr.Ping(t.Context(), "x"), transport.ErrUnknownHost)
	tr.AddHost("x")
	out, _, err := run(t.Context(), &tr, "x", args("echo", "hi"))
	require.NoError(t, err)
	assert.Equal(t, "hi\n", out)
	require.NoError(t, tr.Close())
	require.NoError(t, tr.Close())
	require.ErrorIs(t, tr.Ping(t.Context(), "x"), transport.ErrClosed)
}

func TestAddHost(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	h := tr.AddHost("n1")
	require.NoError(t, h.WriteFile("f", []byte("x"), 0))
	assert.Same(t, h, tr.AddHost("n1"), "AddHost is idempotent")
	assert.Equal(t, []string{"/home/n1/f"}, tr.AddHost("n1").Files())
	assert.Equal(t, "n1", h.Name())
	assert.Equal(t, "/home/n1", h.Home())
	tr.AddHost("m0")
	assert.Equal(t, []string{"m0", "n1"}, tr.Hosts())
	assert.Panics(t, func() { tr.AddHost("") })
	assert.Panics(t, func() { tr.Handle("", func(context.Context, *memtransport.Process) int { return 0 }) })
	assert.Panics(t, func() { h.Handle("x", nil) })
}

func TestBuiltins(t *testing.T) {
	files := map[string]string{"f1": "one\ntwo\n", "/etc/motd": "hello", "dir/f2": "x"}
	for _, tc := range []struct {
		name       string
		args       []string
		dir        string
		env        []string
		stdin      string
		wantOut    string
		wantErr    string // a substring of stderr
		wantCode   int
		wantFiles  []string // when set, the files on the host afterwards
		notWithout bool
	}{
		{name: "true", args: []string{"true"}},
		{name: "false", args: []string{"false"}, wantCode: 1},
		{name: "cat stdin", args: []string{"cat"}, stdin: "abc", wantOut: "abc"},
		{name: "cat files", args: []string{"cat", "f1", "-", "/etc/motd"}, stdin: "<in>", wantOut: "one\ntwo\n<in>hello"},
		{name: "cat missing", args: []string{"cat", "nope", "f1"}, wantOut: "one\ntwo\n", wantErr: "cat: nope: No such file or directory", wantCode: 1},
		{name: "cat dir", args: []string{"cat", "dir"}, wantErr: "Is a directory", wantCode: 1},
		{name: "cat relative to Dir", args: []string{"cat", "f2"}, dir: "dir", wantOut: "x"},
		{name: "echo", args: []string{"echo", "a b", "c"}, wantOut: "a b c\n"},
		{name: "echo -n", args: []string{"echo", "-n", "x"}, wantOut: "x"},
		{name: "echo none", args: []string{"echo"}, wantOut: "\n"},
		{name: "printf NUL", args: []string{"printf", `%s\0`, "a", "b c"}, wantOut: "a\x00b c\x00"},
		{name: "printf newline", args: []string{"printf", `%s\n`, "x", "y"}, wantOut: "x\ny\n"},
		{name: "printf no args", args: []string{"printf", `%s|\t%%\n`}, wantOut: "|\t%\n"},
		{name: "printf %d", args: []string{"printf", `%d-%s\n`, "7", "a", "8"}, wantOut: "7-a\n8-\n"},
		{name: "printf bad", args: []string{"printf", "%q", "x"}, wantErr: "not supported", wantCode: 1},
		{name: "sleep 0", args: []string{"sleep", "0"}},
		{name: "sleep bad", args: []string{"sleep", "soon"}, wantErr: "invalid time interval", wantCode: 1},
		{name: "pwd home", args: []string{"pwd"}, wantOut: "/home/a\n"},
		{name: "pwd dir", args: []string{"pwd"}, dir: "/etc", wantOut: "/etc\n"},
		{name: "printenv", args: []string{"printenv", "X"}, env: []string{"X=1", "X=2"}, wantOut: "2\n"},
		{name: "printenv HOME", args: []string{"printenv", "HOME", "PWD"}, dir: "dir", wantOut: "/home/a\n/home/a/dir\n"},
		{name: "printenv all", args: []string{"printenv"}, env: []string{"X=1", "HOME=/h", "X=2"},
			wantOut: "PATH=/usr/local/bin:/usr/bin:/bin\nPWD=/home/a\nHOME=/h\nX=2\n"},
		{name: "printenv unset", args: []string{"printenv", "NOPE"}, wantCode: 1},
		{name: "head -c", args: []string{"head", "-c", "3"}, stdin: "abcdef", wantOut: "abc"},
		{name: "head -c joined", args: []string{"head", "-c2", "f1"}, wantOut: "on"},
		{name: "head -n", args: []string{"head", "-n", "1"}, stdin: "l1\nl2\n", wantOut: "l1\n"},
		{name: "head default", args: []string{"head"}, stdin: "x", wantOut: "x"},
		{name: "head bad", args: []string{"head", "-c", "-1"}, wantErr: "invalid number of bytes", wantCode: 1},
		{name: "stat", args: []string{"stat", "-c", "%a", "f1", "dir"}, wantOut: "644\n755\n"},
		{name: "stat formats", args: []string{"stat", "-c", "%n %s %F %%", "f1"}, wantOut: "f1 8 regular file %\n"},
		{name: "stat missing", args: []string{"stat", "-c", "%a", "nope"}, wantErr: "cannot statx 'nope'", wantCode: 1},
		{name: "stat no -c", args: []string{"stat", "f1"}, wantErr: "only", wantCode: 1},
		{name: "tr", args: []string{"tr", "a-z", "A-Z"}, stdin: "Hello, world\n", wantOut: "HELLO, WORLD\n"},
		{name: "tr classes", args: []string{"tr", "[:upper:]", "[:lower:]"}, stdin: "ABc", wantOut: "abc"},
		{name: "tr pad", args: []string{"tr", "abc", "x"}, stdin: "abcd", wantOut: "xxxd"},
		{name: "tr escapes", args: []string{"tr", `\n`, `\t`}, stdin: "a\nb", wantOut: "a\tb"},
		{name: "tr -d", args: []string{"tr", "-d", "0-9"}, stdin: "a1b22c", wantOut: "abc"},
		{name: "tr operands", args: []string{"tr", "a"}, wantErr: "wrong number", wantCode: 1},
		{name: "tr reverse", args: []string{"tr", "z-a", "x"}, wantErr: "reverse", wantCode: 1},
		{name: "wc -l", args: []string{"wc", "-l"}, stdin: "a\nb\nc", wantOut: "2\n"},
		{name: "wc all", args: []string{"wc"}, stdin: "a b\nc\n", wantOut: "2 3 6\n"},
		{name: "wc files", args: []string{"wc", "-l", "f1", "/etc/motd"}, wantOut: "2 f1\n0 /etc/motd\n2 total\n"},
		{name: "wc bad", args: []string{"wc", "-x"}, wantErr: "invalid option -- 'x'", wantCode: 1},
		{name: "rm", args: []string{"rm", "f1"}, wantFiles: []string{"/etc/motd", "/home/a/dir/f2"}},
		{name: "rm missing", args: []string{"rm", "nope"}, wantErr: "cannot remove 'nope'", wantCode: 1},
		{name: "rm -f missing", args: []string{"rm", "-f", "--", "nope", "f1"}, wantFiles: []string{"/etc/motd", "/home/a/dir/f2"}},
		{name: "rm dir", args: []string{"rm", "-f", "dir"}, wantErr: "Is a directory", wantCode: 1},
		{name: "rm -r dir", args: []string{"rm", "-rf", "dir"}, wantFiles: []string{"/etc/motd", "/home/a/f1"}},
		{name: "rm root", args: []string{"rm", "-rf", "/"}, wantErr: "dangerous", wantCode: 1},
		{name: "mkdir -p", args: []string{"mkdir", "-p", "x/y", "dir"}},
		{name: "mkdir exists", args: []string{"mkdir", "dir"}, wantErr: "File exists", wantCode: 1},
		{name: "mkdir no parent", args: []string{"mkdir", "x/y"}, wantErr: "No such file or directory", wantCode: 1},
		{name: "mkdir file parent", args: []string{"mkdir", "-p", "f1/y"}, wantErr: "Not a directory", wantCode: 1},
		{name: "sha256sum", args: []string{"sha256sum", "/etc/motd", "-", "nope"}, stdin: "",
			wantOut: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824  /etc/motd\n" +
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  -\n",
			wantErr: "sha256sum: nope: No such file or directory", wantCode: 1},
		{name: "missing program", args: []string{"nope", "x"}, wantErr: "nope: command not found", wantCode: 127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, h := newTransport(t)
			for name, data := range files {
				require.NoError(t, h.WriteFile(name, []byte(data), 0))
			}
			cmd := transport.Command{Args: tc.args, Dir: tc.dir, Env: tc.env, Stdin: strings.NewReader(tc.stdin)}
			out, errOut, err := run(t.Context(), tr, "a", cmd)
			assert.Equal(t, tc.wantCode, exitCode(t, err), "stderr: %s", errOut)
			assert.Equal(t, tc.wantOut, out)
			if tc.wantErr == "" {
				assert.Empty(t, errOut)
			} else {
				assert.Contains(t, errOut, tc.wantErr)
			}
			if tc.wantFiles != nil {
				assert.Equal(t, tc.wantFiles, h.Files())
			}
		})
	}
}

func TestMkdirCreatesDirectories(t *testing.T) {
	tr, h := newTransport(t)
	_, _, err := run(t.Context(), tr, "a", args("mkdir", "-p", "x/y"))
	require.NoError(t, err)
	fi, err := h.Stat("x/y")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	out, _, err := run(t.Context(), tr, "a", transport.Command{Args: []string{"pwd"}, Dir: "x/y"})
	require.NoError(t, err)
	assert.Equal(t, "/home/a/x/y\n", out)
}

func TestDisableBuiltins(t *testing.T) {
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"a"}, DisableBuiltins: true})
	defer tr.Close()
	_, errOut, err := run(t.Context(), tr, "a", args("true"))
	require.ErrorIs(t, err, transport.ErrCommandNotFound)
	assert.Equal(t, "true: command not found\n", errOut)
	assert.Contains(t, memtransport.Builtins(), "sha256sum")
}

func TestLookup(t *testing.T) {
	say := func(s string) memtransport.Func {
		return func(_ context.Context, p *memtransport.Process) int {
			fmt.Fprintf(p.Stdout, "%s %q %q", s, p.Args, p.Shell)
			return 0
		}
	}
	for _, tc := range []struct {
		name     string
		cmd      transport.Command
		host     string
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{name: "transport handler", cmd: args("worker", "x"), host: "b", wantOut: `all ["worker" "x"] ""`},
		{name: "host handler wins", cmd: args("worker", "x"), host: "a", wantOut: `a-only ["worker" "x"] ""`},
		{name: "handler overrides builtin", cmd: args("echo", "x"), host: "a", wantOut: `my-echo ["echo" "x"] ""`},
		{name: "builtin elsewhere", cmd: args("echo", "x"), host: "b", wantOut: "x\n"},
		{name: "shell line handler", cmd: transport.Command{Shell: "worker | sort"}, host: "b", wantOut: `line [] "worker | sort"`},
		{name: "shell simple command", cmd: transport.Command{Shell: `worker 'a b' "c\"d" e\ f`}, host: "b",
			wantOut: `all ["worker" "a b" "c\"d" "e f"] "worker 'a b' \"c\\\"d\" e\\ f"`},
		{name: "shell exit", cmd: transport.Command{Shell: "exit 4"}, host: "b", wantCode: 4},
		{name: "shell exit bad", cmd: transport.Command{Shell: "exit x"}, host: "b", wantCode: 2, wantErr: "Illegal number"},
		{name: "shell unknown line", cmd: transport.Command{Shell: "worker | nope"}, host: "a", wantCode: 127,
			wantErr: "sh: worker | nope: command not found"},
		{name: "shell missing program", cmd: transport.Command{Shell: "nope 1"}, host: "a", wantCode: 127,
			wantErr: "nope: command not found"},
		{name: "sh -c", cmd: args("sh", "-c", "worker | sort"), host: "b", wantOut: `line [] "worker | sort"`},
		{name: "sh -c simple", cmd: args("sh", "-c", "echo hi"), host: "b", wantOut: "hi\n"},
		{name: "exact path handler", cmd: args("/opt/tool"), host: "b", wantOut: `tool ["/opt/tool"] ""`},
		{name: "path to installed file", cmd: args("./bin/worker", "y"), host: "b", wantOut: `all ["./bin/worker" "y"] ""`},
		{name: "path to installed builtin", cmd: args("/bin/echo", "y"), host: "b", wantOut: "y\n"},
		{name: "path not installed", cmd: args("./bin/nope"), host: "b", wantCode: 127, wantErr: "./bin/nope: not found"},
		{name: "path not executable", cmd: args("./bin/data"), host: "b", wantCode: 126, wantErr: "Permission denied"},
		{name: "path is a directory", cmd: args("./bin"), host: "b", wantCode: 126, wantErr: "Permission denied"},
		{name: "missing Dir", cmd: transport.Command{Args: []string{"true"}, Dir: "nowhere"}, host: "b", wantCode: 2,
			wantErr: "nowhere: No such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, h := newTransport(t)
			tr.Handle("worker", say("all"))
			tr.Handle("worker | sort", say("line"))
			tr.Handle("/opt/tool", say("tool"))
			h.Handle("worker", say("a-only"))
			h.Handle("echo", say("my-echo"))
			b := tr.Host("b")
			require.NoError(t, b.WriteFile("bin/worker", nil, 0o755))
			require.NoError(t, b.WriteFile("/bin/echo", nil, 0o755))
			require.NoError(t, b.WriteFile("bin/data", nil, 0o644))
			out, errOut, err := run(t.Context(), tr, tc.host, tc.cmd)
			assert.Equal(t, tc.wantCode, exitCode(t, err), "stderr: %s", errOut)
			assert.Equal(t, tc.wantOut, out)
			if tc.wantErr != "" {
				assert.Contains(t, errOut, tc.wantErr)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	tr, h := newTransport(t)
	h.Handle("fail", func(_ context.Context, p *memtransport.Process) int {
		fmt.Fprint(p.Stderr, strings.Repeat("x", 2*transport.TailSize), "the end")
		return 9
	})
	cmd := args("fail", "it's")
	err := tr.Run(t.Context(), "a", &cmd)
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "a", ee.Host)
	assert.Equal(t, `fail 'it'\''s'`, ee.Command)
	assert.Equal(t, 9, ee.Code)
	assert.Len(t, ee.Stderr, transport.TailSize)
	assert.True(t, bytes.HasSuffix(ee.Stderr, []byte("the end")))
	assert.ErrorIs(t, err, transport.ErrFailed)
	assert.False(t, transport.IsLost(err))

	_, _, err = run(t.Context(), tr, "a", args("nope"))
	require.ErrorIs(t, err, transport.ErrCommandNotFound)
}

func TestCallErrors(t *testing.T) {
	tr, _ := newTransport(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		call func() error
		want error
		op   string
	}{
		{"unknown host run", func() error { _, _, err := run(ctx, tr, "zz", args("true")); return err }, transport.ErrUnknownHost, "run"},
		{"unknown host put", func() error { return tr.Put(ctx, "zz", "f", strings.NewReader(""), 0) }, transport.ErrUnknownHost, "put"},
		{"empty host", func() error { return tr.Get(ctx, "", "f", io.Discard) }, transport.ErrInvalid, "get"},
		{"invalid command", func() error { return tr.Run(ctx, "a", &transport.Command{}) }, transport.ErrInvalid, "run"},
		{"empty path", func() error { return tr.Put(ctx, "a", "", strings.NewReader(""), 0) }, transport.ErrInvalid, "put"},
		{"get missing", func() error { return tr.Get(ctx, "a", "nope", io.Discard) }, fs.ErrNotExist, "get"},
		{"get directory", func() error { return tr.Get(ctx, "a", "/home", io.Discard) }, nil, "get"},
		{"put over directory", func() error { return tr.Put(ctx, "a", "/home", strings.NewReader(""), 0) }, nil, "put"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			var oe *transport.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tc.op, oe.Op)
			assert.False(t, transport.IsLost(err))
		})
	}
}

func TestFiles(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()

	require.NoError(t, tr.Put(ctx, "a", "d1/d2/f", strings.NewReader("data"), 0o755))
	got, err := h.ReadFile("/home/a/d1/d2/f")
	require.NoError(t, err)
	assert.Equal(t, "data", string(got))
	fi, err := h.Stat("d1/d2/f")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), fi.Mode())
	assert.Equal(t, int64(4), fi.Size())
	assert.Equal(t, "f", fi.Name())
	fi, err = h.Stat("d1/d2")
	require.NoError(t, err)
	assert.True(t, fi.IsDir(), "Put creates parents")

	require.NoError(t, tr.Put(ctx, "a", "/abs/../abs/./g", strings.NewReader(""), 0))
	fi, err = h.Stat("/abs/g")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode(), "mode 0 means 0644")

	var buf bytes.Buffer
	require.NoError(t, tr.Get(ctx, "a", "/home/a/d1/d2/f", &buf))
	assert.Equal(t, "data", buf.String())
	assert.Equal(t, []string{"/abs/g", "/home/a/d1/d2/f"}, h.Files())
	assert.Empty(t, tr.Host("b").Files(), "hosts are isolated")

	err = tr.Put(ctx, "a", "d1/d2/f/x", strings.NewReader(""), 0)
	require.Error(t, err, "a file is not a directory")

	got, err = h.ReadFile("d1/d2/f")
	require.NoError(t, err)
	got[0] = 'X'
	again, _ := h.ReadFile("d1/d2/f")
	assert.Equal(t, "data", string(again), "ReadFile returns a copy")

	src := []byte("abc")
	require.NoError(t, h.WriteFile("w", src, 0o600))
	src[0] = 'X'
	again, _ = h.ReadFile("w")
	assert.Equal(t, "abc", string(again), "WriteFile copies")

	require.NoError(t, h.Remove("w"))
	require.NoError(t, h.Remove("w"), "removing a missing file is fine")
	_, err = h.ReadFile("w")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Error(t, h.Remove("d1"), "a directory that is not empty")
	require.NoError(t, h.Remove("d1/d2/f"))
	require.NoError(t, h.Remove("d1/d2"))
	_, err = h.Stat("d1/d2")
	require.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, h.MkdirAll("m/n"))
	require.NoError(t, h.WriteFile("m/file", nil, 0))
	require.Error(t, h.MkdirAll("m/file/x"))
	require.Error(t, h.WriteFile("m/n", nil, 0), "a directory is not a file")
}

func TestPutAtomic(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()
	require.NoError(t, h.WriteFile("f", []byte("old"), 0))

	boom := errors.New("boom")
	err := tr.Put(ctx, "a", "f", io.MultiReader(strings.NewReader("partial"), &failingReader{boom}), 0)
	require.ErrorIs(t, err, boom)
	got, _ := h.ReadFile("f")
	assert.Equal(t, "old", string(got))

	err = tr.Put(ctx, "a", "new/g", io.MultiReader(strings.NewReader("partial"), &failingReader{boom}), 0)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, []string{"/home/a/f"}, h.Files(), "a failed Put leaves no file")

	// The host dies while the data is read: nothing is stored.
	killer := readerFunc(func([]byte) (int, error) { h.Kill(); return 0, io.EOF })
	err = tr.Put(ctx, "a", "f", io.MultiReader(strings.NewReader("new"), killer), 0)
	require.ErrorIs(t, err, memtransport.ErrKilled)
	assert.True(t, transport.IsLost(err))
	h.Revive()
	got, _ = h.ReadFile("f")
	assert.Equal(t, "old", string(got))
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestOptionalInterfaces(t *testing.T) {
	tr, h := newTransport(t)
	ctx := t.Context()
	require.NoError(t, h.WriteFile("f", []byte("hello"), 0))
	require.NoError(t, tr.Ping(ctx, "a"))

	sums, err := tr.Checksum(ctx, "a", []string{"f", "/nope", "/home/a/f"})
	require.NoError(t, err)
	want := "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	assert.Equal(t, []string{want, "", want}, sums)
	_, err = tr.Checksum(ctx, "a", []string{"/home"})
	require.Error(t, err, "a directory has no checksum")

	require.NoError(t, tr.Remove(ctx, "a", "f"))
	require.NoError(t, tr.Remove(ctx, "a", "f"))
	assert.Empty(t, h.Files())
	require.Error(t, tr.Remove(ctx, "a", "/home"))

	res, err := nodeops.Install(ctx, tr, "b", "work", []nodeops.File{{Path: "w.sh", Mode: 0o755, Data: []byte("x")}})
	require.NoError(t, err)
	assert.Equal(t, []string{"w.sh"}, res.Sent)
	res, err = nodeops.Install(ctx, tr, "b", "work", []nodeops.File{{Path: "w.sh", Mode: 0o755, Data: []byte("x")}})
	require.NoError(t, err)
	assert.Equal(t, []string{"w.sh"}, res.Skipped)
}

func TestProcess(t *testing.T) {
	tr, h := newTransport(t)
	require.NoError(t, h.MkdirAll("work"))
	h.Handle("probe", func(_ context.Context, p *memtransport.Process) int {
		assert.NoError(t, p.WriteFile("out", []byte(p.Getenv("K")), 0o600))
		data, err := p.ReadFile("/home/a/work/out")
		assert.NoError(t, err)
		fi, err := p.Stat("out")
		assert.NoError(t, err)
		_, set := p.LookupEnv("UNSET")
		fmt.Fprintf(p.Stdout, "%s %s %s %o %v %s %s", p.Host, p.Dir, data, fi.Mode(), set, p.Path("../x"), p.Control().Name())
		return p.Fail(3, "bad %d", 42)
	})
	out, errOut, err := run(t.Context(), tr, "a", transport.Command{Args: []string{"probe"}, Dir: "work", Env: []string{"K=v1", "K=v2"}})
	assert.Equal(t, 3, exitCode(t, err))
	assert.Equal(t, "a /home/a/work v2 600 false /home/a/x a", out)
	assert.Equal(t, "bad 42\n", errOut)
}

func TestShellWords(t *testing.T) {
	tr, h := newTransport(t)
	h.Handle("argv", func(_ context.Context, p *memtransport.Process) int {
		fmt.Fprintf(p.Stdout, "%q", p.Args)
		return 0
	})
	for _, tc := range []struct {
		line string
		want string // "" means not a simple command: exit 127
	}{
		{`argv a  b`, `["argv" "a" "b"]`},
		{"argv\ta\t", `["argv" "a"]`},
		{`argv 'it'\''s' ""`, `["argv" "it's" ""]`},
		{`argv "a'b" "\$x" "\q"`, `["argv" "a'b" "$x" "\\q"]`},
		{`argv a#b`, `["argv" "a#b"]`},
		{`argv ` + transport.Quote("$(rm -rf /); `x` *"), `["argv" "$(rm -rf /); ` + "`x`" + ` *"]`},
		{`argv X=1`, `["argv" "X=1"]`},
		{`X=1 argv`, ""},
		{`argv | argv`, ""},
		{`argv > f`, ""},
		{`argv; argv`, ""},
		{`argv && argv`, ""},
		{`argv $HOME`, ""},
		{`argv "$HOME"`, ""},
		{"argv `x`", ""},
		{`argv *`, ""},
		{`argv # comment`, ""},
		{`argv 'open`, ""},
		{`argv "open`, ""},
		{`argv \`, ""},
		{"argv\nargv", ""},
	} {
		t.Run(tc.line, func(t *testing.T) {
			out, errOut, err := run(t.Context(), tr, "a", transport.Command{Shell: tc.line})
			if tc.want == "" {
				assert.Equal(t, 127, exitCode(t, err))
				assert.Contains(t, errOut, "command not found")
				return
			}
			require.NoError(t, err, errOut)
			assert.Equal(t, tc.want, out)
		})
	}
}

func TestSameWriterForBothStreams(t *testing.T) {
	tr, h := newTransport(t)
	h.Handle("both", func(_ context.Context, p *memtransport.Process) int {
		var wg sync.WaitGroup
		for _, w := range []io.Writer{p.Stdout, p.Stderr} {
			wg.Go(func() {
				for range 100 {
					_, _ = w.Write([]byte("x"))
				}
			})
		}
		wg.Wait()
		return 0
	})
	var buf bytes.Buffer // not safe for concurrent use: Run must serialise
	require.NoError(t, tr.Run(t.Context(), "a", &transport.Command{Args: []string{"both"}, Stdout: &buf, Stderr: &buf}))
	assert.Equal(t, 200, buf.Len())
}

func TestWritesAfterRunReturnFail(t *testing.T) {
	tr, h := newTransport(t)
	late := make(chan error)
	h.Handle("leaky", func(_ context.Context, p *memtransport.Process) int {
		go func() {
			<-late
			_, err := p.Stdout.Write([]byte("late"))
			late <- err
		}()
		return 0
	})
	var buf bytes.Buffer
	require.NoError(t, tr.Run(t.Context(), "a", &transport.Command{Args: []string{"leaky"}, Stdout: &buf}))
	late <- nil
	require.Error(t, <-late)
	assert.Empty(t, buf.String())
}

func TestRunCancel(t *testing.T) {
	tr, h := newTransport(t)
	funcCtxErr := make(chan error, 1)
	h.Handle("block", func(ctx context.Context, _ *memtransport.Process) int {
		<-ctx.Done()
		funcCtxErr <- ctx.Err()
		return 1
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- tr.Run(ctx, "a", &transport.Command{Args: []string{"block"}}) }()
	require.NoError(t, h.WaitRunning(t.Context(), 1))
	assert.Equal(t, 1, h.Running())
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, transport.IsLost(err))
	require.ErrorIs(t, <-funcCtxErr, context.Canceled, "the Func's context is cancelled")
	assert.Equal(t, 0, h.Running())
}

func TestCloseStopsCalls(t *testing.T) {
	tr, h := newTransport(t)
	h.Handle("block", func(ctx context.Context, _ *memtransport.Process) int {
		<-ctx.Done()
		return 1
	})
	tr.Host("b").Hang(true)
	done := make(chan error, 2)
	go func() { done <- tr.Run(t.Context(), "a", &transport.Command{Args: []string{"block"}}) }()
	go func() { done <- tr.Ping(t.Context(), "b") }()
	require.NoError(t, h.WaitRunning(t.Context(), 1))
	require.NoError(t, tr.Close())
	require.ErrorIs(t, <-done, transport.ErrClosed)
	require.ErrorIs(t, <-done, transport.ErrClosed)
	require.ErrorIs(t, tr.Put(t.Context(), "a", "f", strings.NewReader(""), 0), transport.ErrClosed)
	got, err := h.ReadFile("/home/a/../a/../../nope")
	require.ErrorIs(t, err, fs.ErrNotExist, "handles stay usable after Close")
	assert.Nil(t, got)
}

func TestShare(t *testing.T) {
	tr, h := newTransport(t)
	other := tr.Share()
	other.Handle("hi", func(_ context.Context, p *memtransport.Process) int { return p.Fail(0, "hi") })
	require.NoError(t, other.Put(t.Context(), "a", "f", strings.NewReader("x"), 0))
	other.AddHost("c")
	assert.Equal(t, []string{"a", "b", "c"}, tr.Hosts())
	assert.Same(t, h, other.Host("a"))

	require.NoError(t, other.Close())
	require.ErrorIs(t, other.Ping(t.Context(), "a"), transport.ErrClosed)
	_, errOut, err := run(t.Context(), tr, "c", args("hi"))
	require.NoError(t, err, "closing a shared transport leaves the others open")
	assert.Equal(t, "hi\n", errOut)
	got, err := h.ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
	assert.Equal(t, int64(1), h.Stats().Puts)
}

func TestWaitRunningContext(t *testing.T) {
	_, h := newTransport(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, h.WaitRunning(ctx, 1), context.Canceled)
	require.NoError(t, h.WaitRunning(ctx, 0))
}

func BenchmarkRunTiny(b *testing.B) {
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"a"}})
	defer tr.Close()
	cmd := &transport.Command{Args: []string{"true"}}
	for b.Loop() {
		if err := tr.Run(b.Context(), "a", cmd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRunCat(b *testing.B) {
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"a"}})
	defer tr.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		cmd := &transport.Command{Args: []string{"cat"}, Stdin: bytes.NewReader(data), Stdout: io.Discard}
		if err := tr.Run(b.Context(), "a", cmd); err != nil {
			b.Fatal(err)
		}
	}
}
