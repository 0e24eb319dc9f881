package transporttest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

func testExitStatus(t *testing.T, e *env) {
	t.Run("true", func(t *testing.T) {
		assert.NoError(t, e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}))
	})
	for _, tc := range []struct {
		name   string
		cmd    transport.Command
		code   int
		stderr string
	}{
		{"false", transport.Command{Args: []string{"false"}}, 1, ""},
		{"exit 3", transport.Command{Shell: ShellExit3}, 3, ""},
		{"exit 5 with stderr", transport.Command{Shell: ShellOopsExit5}, 5, "oops\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, host := range []string{e.a, e.b} {
				cmd := tc.cmd
				err := e.tr.Run(e.ctx, host, &cmd)
				ee := requireExit(t, err, host, &cmd, tc.code)
				assert.NotErrorIs(t, err, transport.ErrCommandNotFound)
				assert.Equal(t, tc.stderr, string(ee.Stderr), "ExitError.Stderr")
			}
		})
	}
	t.Run("stderr tail kept when Stderr is set", func(t *testing.T) {
		var stderr bytes.Buffer
		cmd := &transport.Command{Shell: ShellOopsExit5, Stderr: &stderr}
		err := e.tr.Run(e.ctx, e.a, cmd)
		ee := requireExit(t, err, e.a, cmd, 5)
		assert.Equal(t, "oops\n", string(ee.Stderr), "ExitError.Stderr")
		assert.Equal(t, "oops\n", stderr.String(), "Command.Stderr")
	})
}

func testCommandNotFound(t *testing.T, e *env) {
	var stderr bytes.Buffer
	cmd := &transport.Command{Args: []string{MissingProgram, "arg"}, Stderr: &stderr}
	err := e.tr.Run(e.ctx, e.a, cmd)
	ee := requireExit(t, err, e.a, cmd, 127)
	assert.ErrorIs(t, err, transport.ErrCommandNotFound)
	assert.Contains(t, string(ee.Stderr), MissingProgram, "ExitError.Stderr should name the missing program")
	assert.Contains(t, stderr.String(), MissingProgram, "Command.Stderr should name the missing program")
}

func testOutput(t *testing.T, e *env) {
	for _, tc := range []struct {
		name  string
		cmd   transport.Command
		stdin string
		want  string
	}{
		{"echo", transport.Command{Args: []string{"echo", "hello", "world"}}, "", "hello world\n"},
		{"cat stdin", transport.Command{Args: []string{"cat"}}, "line 1\nline 2", "line 1\nline 2"},
		{"head", transport.Command{Args: []string{"head", "-c", "5"}}, "abcdefgh", "abcde"},
		{"printf", transport.Command{Args: []string{"printf", `%s\0`, "a", "b c"}}, "", "a\x00b c\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.cmd
			cmd.Stdin = strings.NewReader(tc.stdin)
			out, stderr, err := e.output(e.a, cmd)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out, "stdout")
			assert.Empty(t, stderr, "stderr")
		})
	}
}

func testStdoutStderrSeparate(t *testing.T, e *env) {
	out, stderr, err := e.output(e.a, transport.Command{Shell: ShellCatThenDone, Stdin: strings.NewReader("to stdout\n")})
	require.NoError(t, err)
	assert.Equal(t, "to stdout\n", out, "stdout")
	assert.Equal(t, "done\n", stderr, "stderr")

	out, stderr, err = e.output(e.a, transport.Command{Shell: ShellCatToStderr, Stdin: strings.NewReader("to stderr\n")})
	require.NoError(t, err)
	assert.Empty(t, out, "stdout")
	assert.Equal(t, "to stderr\n", stderr, "stderr")
}

func testNilStdin(t *testing.T, e *env) {
	var out bytes.Buffer
	ok := within(t, "cat with nil Stdin", func() {
		assert.NoError(t, e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"cat"}, Stdout: &out}))
	})
	if ok {
		assert.Empty(t, out.String(), "cat with nil Stdin must see end of file at once")
	}
}

// testStdinNotFullyRead checks that a command which exits before reading all
// of its input succeeds.
func testStdinNotFullyRead(t *testing.T, e *env) {
	const size = 4 << 20
	var out bytes.Buffer
	cmd := &transport.Command{Args: []string{"head", "-c", "10"}, Stdin: data(1, size), Stdout: &out}
	within(t, "head -c 10 with large stdin", func() {
		assert.NoError(t, e.tr.Run(e.ctx, e.a, cmd))
	})
	assert.Equal(t, dataBytes(1, 10), out.Bytes(), "stdout")
}

func testLargeStdinStdout(t *testing.T, e *env) {
	const size = 24 << 20
	stdout, stderr := newHashWriter(), newHashWriter()
	cmd := &transport.Command{Args: []string{"cat"}, Stdin: data(2, size), Stdout: stdout, Stderr: stderr}
	require.NoError(t, e.tr.Run(e.ctx, e.a, cmd))
	assert.Equal(t, int64(size), stdout.n, "bytes on stdout")
	assert.Equal(t, dataSum(2, size), stdout.sum(), "SHA-256 of stdout")
	assert.Zero(t, stderr.n, "bytes on stderr")
}

func testLargeStdoutDiscarded(t *testing.T, e *env) {
	const size = 8 << 20
	within(t, "cat with large stdin and nil Stdout", func() {
		assert.NoError(t, e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"cat"}, Stdin: data(3, size)}))
	})
	within(t, "cat >&2 with large stdin and nil Stderr", func() {
		assert.NoError(t, e.tr.Run(e.ctx, e.a, &transport.Command{Shell: ShellCatToStderr, Stdin: data(3, size)}))
	})
}

// testLargeStderr sends several MiB to standard error while standard output is
// also being read: both streams must be drained.
func testLargeStderr(t *testing.T, e *env) {
	const size = 6 << 20
	t.Run("stderr only", func(t *testing.T) {
		stdout, stderr := newHashWriter(), newHashWriter()
		cmd := &transport.Command{Shell: ShellCatToStderr, Stdin: data(4, size), Stdout: stdout, Stderr: stderr}
		within(t, "cat >&2 with large stdin", func() {
			assert.NoError(t, e.tr.Run(e.ctx, e.a, cmd))
		})
		assert.Zero(t, stdout.n, "bytes on stdout")
		assert.Equal(t, int64(size), stderr.n, "bytes on stderr")
		assert.Equal(t, dataSum(4, size), stderr.sum(), "SHA-256 of stderr")
	})
	t.Run("stdout and stderr", func(t *testing.T) {
		// The file goes to stdout while stdin goes to stderr.
		const fileSize = 3 << 20
		require.NoError(t, e.tr.Put(e.ctx, e.a, e.path("stdout.bin"), data(5, fileSize), 0))
		stdout, stderr := newHashWriter(), newHashWriter()
		cmd := &transport.Command{Shell: ShellCatToStderr, Stdin: data(4, size), Stdout: stdout, Stderr: stderr}
		within(t, "cat >&2", func() { assert.NoError(t, e.tr.Run(e.ctx, e.a, cmd)) })
		assert.Equal(t, dataSum(4, size), stderr.sum(), "SHA-256 of stderr")

		stdout = newHashWriter()
		stderr = newHashWriter()
		cmd = &transport.Command{Shell: ShellCatThenDone, Stdin: data(5, fileSize), Stdout: stdout, Stderr: stderr}
		within(t, "cat; echo done >&2", func() { assert.NoError(t, e.tr.Run(e.ctx, e.a, cmd)) })
		assert.Equal(t, dataSum(5, fileSize), stdout.sum(), "SHA-256 of stdout")
		assert.Equal(t, int64(5), stderr.n, "bytes on stderr")
	})
}

func testStderrTail(t *testing.T, e *env) {
	const size = 1 << 20
	input := dataBytes(6, size)
	for _, withStderr := range []bool{false, true} {
		name := "Stderr nil"
		if withStderr {
			name = "Stderr set"
		}
		t.Run(name, func(t *testing.T) {
			stderr := newHashWriter()
			cmd := &transport.Command{Shell: ShellCatToStderrExit7, Stdin: bytes.NewReader(input)}
			if withStderr {
				cmd.Stderr = stderr
			}
			err := e.tr.Run(e.ctx, e.a, cmd)
			ee := requireExit(t, err, e.a, cmd, 7)
			require.NotEmpty(t, ee.Stderr, "ExitError.Stderr")
			assert.True(t, bytes.HasSuffix(input, ee.Stderr), "ExitError.Stderr must be the end of standard error")
			assert.GreaterOrEqual(t, len(ee.Stderr), 1024, "ExitError.Stderr should keep a useful tail")
			if withStderr {
				assert.Equal(t, int64(size), stderr.n, "Command.Stderr gets all of standard error")
			}
		})
	}
}

// hostileArgs are strings a careless transport would let a shell interpret.
var hostileArgs = []string{
	"plain",
	"with space",
	"  leading and trailing  ",
	"single'quote",
	`double"quote`,
	`'"mixed"'`,
	"$HOME",
	"${HOME}",
	"$(id)",
	"`id`",
	"a;b",
	"a|b",
	"a&b",
	"a&&b||c",
	"*",
	"?",
	"[a-z]",
	"~",
	"~/x",
	"line\nbreak",
	"tab\there",
	"-n",
	"--",
	"-e",
	"key=value",
	"=",
	"",
	`back\slash\n`,
	"\\",
	"!",
	"#comment",
	"<in >out 2>&1",
	"(sub)",
	"{a,b}",
	"héllo wörld ✓ 日本",
	"\x01\x7f",
	strings.Repeat("long ", 2000),
}

func testHostileArgs(t *testing.T, e *env) {
	for _, host := range []string{e.a, e.b} {
		args := append([]string{"printf", `%s\0`}, hostileArgs...)
		orig := append([]string(nil), args...)
		out := e.stdout(host, transport.Command{Args: args})
		assert.Equal(t, orig, args, "Run must not modify Command.Args")
		got := strings.Split(out, "\x00")
		require.NotEmpty(t, got)
		assert.Equal(t, "", got[len(got)-1], "output ends with NUL")
		assert.Equal(t, hostileArgs, got[:len(got)-1], "arguments must reach the program exactly")
	}
	t.Run("one at a time", func(t *testing.T) {
		for _, arg := range hostileArgs[:len(hostileArgs)-1] {
			if strings.HasPrefix(arg, "-") {
				continue // echo would take it for an option
			}
			out := e.stdout(e.a, transport.Command{Args: []string{"echo", arg}})
			assert.Equal(t, arg+"\n", out, "echo %q", arg)
		}
	})
}

func testDir(t *testing.T, e *env) {
	home := strings.TrimSuffix(e.stdout(e.a, transport.Command{Args: []string{"pwd"}}), "\n")
	require.True(t, strings.HasPrefix(home, "/"), "pwd with empty Dir must print the absolute home, got %q", home)

	sub := e.path("we ird 'dir' $x")
	e.put(e.a, sub+"/f.txt", []byte("in sub\n"), 0)
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"empty", "", home},
		{"relative", sub, home + "/" + sub},
		{"absolute", home + "/" + sub, home + "/" + sub},
		{"dot", ".", home},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.stdout(e.a, transport.Command{Args: []string{"pwd"}, Dir: tc.dir})
			assert.Equal(t, tc.want+"\n", out)
		})
	}
	t.Run("cat relative to Dir", func(t *testing.T) {
		out := e.stdout(e.a, transport.Command{Args: []string{"cat", "f.txt"}, Dir: sub})
		assert.Equal(t, "in sub\n", out)
	})
}

func testEnv(t *testing.T, e *env) {
	values := map[string]string{
		"DPROC_PLAIN":   "value",
		"DPROC_HOSTILE": "a b 'c' \"d\" $HOME $(id) `id` ; | & *\nnext\tline",
		"DPROC_EMPTY":   "",
		"DPROC_EQUALS":  "x=y=z",
	}
	var env []string
	for k, v := range values {
		env = append(env, k+"="+v)
	}
	for k, v := range values {
		out := e.stdout(e.a, transport.Command{Args: []string{"printenv", k}, Env: env})
		assert.Equal(t, v+"\n", out, "printenv %s", k)
	}
	t.Run("last wins", func(t *testing.T) {
		out := e.stdout(e.a, transport.Command{Args: []string{"printenv", "DPROC_TWICE"}, Env: []string{"DPROC_TWICE=first", "DPROC_TWICE=second"}})
		assert.Equal(t, "second\n", out)
	})
}

func testInvalidCommand(t *testing.T, e *env) {
	for _, tc := range []struct {
		name string
		cmd  *transport.Command
	}{
		{"nil", nil},
		{"neither Args nor Shell", &transport.Command{}},
		{"both Args and Shell", &transport.Command{Args: []string{"true"}, Shell: "true"}},
		{"empty program", &transport.Command{Args: []string{""}}},
		{"bad Env", &transport.Command{Args: []string{"true"}, Env: []string{"NOEQUALS"}}},
		{"NUL in Args", &transport.Command{Args: []string{"echo", "a\x00b"}}},
		{"NUL in Shell", &transport.Command{Shell: "echo a\x00b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.tr.Run(e.ctx, e.a, tc.cmd)
			assert.ErrorIs(t, err, transport.ErrInvalid)
			var ee *transport.ExitError
			assert.False(t, errors.As(err, &ee), "an invalid command is not an ExitError: %v", err)
			assert.False(t, transport.IsLost(err), "an invalid command is not lost: %v", err)
		})
	}
}

// stdinUntilDone serves s, then blocks until ctx ends and reports EOF.
type stdinUntilDone struct {
	ctx context.Context
	r   io.Reader
}

func (r *stdinUntilDone) Read(p []byte) (int, error) {
	if n, err := r.r.Read(p); n > 0 {
		return n, err
	}
	<-r.ctx.Done()
	return 0, io.EOF
}

// testRunCancel cancels a command known to be running: cat has echoed its
// first input and waits for more.
func testRunCancel(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stdout := newSignalWriter("started")
	cmd := &transport.Command{Args: []string{"cat"}, Stdin: &stdinUntilDone{ctx, strings.NewReader("started\n")}, Stdout: stdout}
	errc := make(chan error, 1)
	go func() { errc <- e.tr.Run(ctx, e.a, cmd) }()
	select {
	case <-stdout.ready:
	case err := <-errc:
		t.Fatalf("cat returned before it was cancelled: %v", err)
	case <-e.ctx.Done():
		t.Fatal("cat never echoed its input")
	}
	cancel()
	within(t, "Run after cancel", func() {
		err := <-errc
		assert.ErrorIs(t, err, context.Canceled)
	})
	assert.NoError(t, e.tr.Run(e.ctx, e.a, &transport.Command{Args: []string{"true"}}), "the host is usable after a cancelled command")
}

func testRunCancelSleep(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	errc := make(chan error, 1)
	go func() { errc <- e.tr.Run(ctx, e.a, &transport.Command{Args: []string{"sleep", "30"}}) }()
	// Cancel once the run is likely under way; the check holds whenever
	// the cancellation arrives.
	e.stdout(e.b, transport.Command{Args: []string{"true"}})
	cancel()
	within(t, "Run of sleep 30 after cancel", func() {
		assert.ErrorIs(t, <-errc, context.Canceled)
	})
}

func testRunDeadline(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	within(t, "Run of sleep 30 past its deadline", func() {
		err := e.tr.Run(ctx, e.a, &transport.Command{Args: []string{"sleep", "30"}})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func testContextAlreadyDone(t *testing.T, e *env) {
	e.put(e.a, e.path("f"), []byte("x"), 0)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	var out bytes.Buffer
	assert.ErrorIs(t, e.tr.Run(ctx, e.a, &transport.Command{Args: []string{"echo", "ran"}, Stdout: &out}), context.Canceled, "Run")
	assert.ErrorIs(t, e.tr.Put(ctx, e.a, e.path("g"), strings.NewReader("y"), 0), context.Canceled, "Put")
	assert.ErrorIs(t, e.tr.Get(ctx, e.a, e.path("f"), &out), context.Canceled, "Get")
	assert.Empty(t, out.String(), "nothing ran or was copied")
	_, err := e.get(e.a, e.path("g"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "a Put with a done context leaves no file")
}
