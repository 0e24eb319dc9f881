package localtransport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/transporttest"
)

type harness struct {
	root  string
	hosts []string
}

func (h *harness) MakeTransport(ctx context.Context) (transport.Transport, error) {
	return localtransport.New(h.root, nil)
}

func (h *harness) Hosts() []string     { return h.hosts }
func (h *harness) UnknownHost() string { return "no-such-host" }
func (h *harness) Close()              {}

func TestConformance(t *testing.T) {
	transporttest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (transporttest.Harness, error) {
		h := &harness{root: t.TempDir(), hosts: []string{"node1", "node 2"}}
		_, err := localtransport.New(h.root, &localtransport.Options{Hosts: h.hosts})
		return h, err
	})
}

func newTransport(t *testing.T, hosts ...string) *localtransport.Transport {
	t.Helper()
	tr, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: hosts})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestHostNames(t *testing.T) {
	tr := newTransport(t)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"node1", true},
		{"node with space", true},
		{".hidden", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"/abs", false},
		{"nul\x00byte", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tr.AddHost(tc.name)
			if !tc.ok {
				assert.ErrorIs(t, err, transport.ErrInvalid)
				assert.ErrorIs(t, tr.Run(context.Background(), tc.name, &transport.Command{Args: []string{"true"}}), transport.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.DirExists(t, filepath.Join(tr.Root(), tc.name))
			assert.NoError(t, tr.Run(context.Background(), tc.name, &transport.Command{Args: []string{"true"}}))
		})
	}
	t.Run("invalid in Options", func(t *testing.T) {
		_, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: []string{"ok", "../escape"}})
		assert.ErrorIs(t, err, transport.ErrInvalid)
	})
	t.Run("directory made elsewhere", func(t *testing.T) {
		require.NoError(t, os.Mkdir(filepath.Join(tr.Root(), "made-by-hand"), 0o755))
		assert.NoError(t, tr.Run(context.Background(), "made-by-hand", &transport.Command{Args: []string{"true"}}))
	})
	t.Run("unknown", func(t *testing.T) {
		err := tr.Run(context.Background(), "never-added", &transport.Command{Args: []string{"true"}})
		assert.ErrorIs(t, err, transport.ErrUnknownHost)
		var op *transport.OpError
		require.ErrorAs(t, err, &op)
		assert.Equal(t, "never-added", op.Host)
	})
}

func TestHomeAndEnv(t *testing.T) {
	tr := newTransport(t, "n1")
	var out bytes.Buffer
	err := tr.Run(context.Background(), "n1", &transport.Command{
		Shell:  `mkdir -p ~/processing && echo "$HOME" > ~/processing/home.txt && echo "$X"`,
		Env:    []string{"X=from env"},
		Stdout: &out,
	})
	require.NoError(t, err)
	assert.Equal(t, "from env\n", out.String())
	home := filepath.Join(tr.Root(), "n1")
	got, err := os.ReadFile(filepath.Join(home, "processing", "home.txt"))
	require.NoError(t, err)
	assert.Equal(t, home+"\n", string(got))
}

func TestExitErrors(t *testing.T) {
	tr := newTransport(t, "n1")
	ctx := context.Background()
	require.NoError(t, tr.Put(ctx, "n1", "noexec.sh", strings.NewReader("#!/bin/sh\n"), 0o644))
	require.NoError(t, tr.Put(ctx, "n1", "bin/tool", strings.NewReader("#!/bin/sh\necho tool \"$@\"\n"), 0o755))
	for _, tc := range []struct {
		name   string
		cmd    transport.Command
		code   int
		signal string
		stderr string
	}{
		{"killed by TERM", transport.Command{Shell: "kill -TERM $$"}, 128 + 15, "TERM", ""},
		{"killed by KILL", transport.Command{Shell: "kill -KILL $$"}, 128 + 9, "KILL", ""},
		{"not executable", transport.Command{Args: []string{"./noexec.sh"}}, 126, "", "./noexec.sh: Permission denied\n"},
		{"missing Dir", transport.Command{Args: []string{"true"}, Dir: "nowhere"}, 2, "", "cd: nowhere: No such file or directory\n"},
		{"missing program", transport.Command{Args: []string{"no-such-program-x"}}, 127, "", "no-such-program-x: command not found\n"},
		{"PATH from Env", transport.Command{Args: []string{"tool"}, Env: []string{"PATH=/nonexistent"}}, 127, "", "tool: command not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tr.Run(ctx, "n1", &tc.cmd)
			var ee *transport.ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, tc.code, ee.Code)
			assert.Equal(t, tc.signal, ee.Signal)
			assert.Equal(t, tc.stderr, string(ee.Stderr))
		})
	}
	t.Run("PATH from Env finds a program", func(t *testing.T) {
		var out bytes.Buffer
		home := filepath.Join(tr.Root(), "n1")
		err := tr.Run(ctx, "n1", &transport.Command{Args: []string{"tool", "x"}, Env: []string{"PATH=" + home + "/bin:/usr/bin:/bin"}, Stdout: &out})
		require.NoError(t, err)
		assert.Equal(t, "tool x\n", out.String())
	})
	t.Run("same writer for stdout and stderr", func(t *testing.T) {
		var out bytes.Buffer
		err := tr.Run(ctx, "n1", &transport.Command{Shell: "echo a; echo b >&2; echo c", Stdout: &out, Stderr: &out})
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"a", "b", "c"}, strings.Fields(out.String()))
	})
}

// alive reports whether pid is a live process (not gone and not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestCancelKillsProcessGroup checks that cancelling a shell line kills the
// shell's children too, not only the shell.
func TestCancelKillsProcessGroup(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			tr := newTransport(t, "n1")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan struct{})
			stdout := &notifyWriter{marker: "started", ready: started}
			errc := make(chan error, 1)
			go func() {
				errc <- tr.Run(ctx, "n1", &transport.Command{
					Shell:  "sleep 100 | cat & echo $! > pid; sleep 100 & echo $! >> pid; echo started; wait",
					Stdout: stdout,
				})
			}()
			select {
			case <-started:
			case err := <-errc:
				t.Fatalf("the shell ended early: %v", err)
			}
			b, err := os.ReadFile(filepath.Join(tr.Root(), "n1", "pid"))
			require.NoError(t, err)
			var pids []int
			for _, f := range strings.Fields(string(b)) {
				pid, err := strconv.Atoi(f)
				require.NoError(t, err)
				require.True(t, alive(pid), "child %d runs before the cancellation", pid)
				pids = append(pids, pid)
			}
			require.Len(t, pids, 2)
			if how == "cancel" {
				cancel()
				assert.ErrorIs(t, <-errc, context.Canceled)
			} else {
				require.NoError(t, tr.Close())
				assert.ErrorIs(t, <-errc, transport.ErrClosed)
			}
			for _, pid := range pids {
				// SIGKILL is delivered before kill returns; the process
				// may still need to be reaped, which alive ignores.
				assert.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond, "child %d survived", pid)
			}
		})
	}
}

type notifyWriter struct {
	marker string
	buf    []byte
	ready  chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	if w.buf != nil && len(w.buf) == 0 {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if bytes.Contains(w.buf, []byte(w.marker)) {
		w.buf = []byte{}
		close(w.ready)
	}
	return len(p), nil
}

func TestStdinError(t *testing.T) {
	tr := newTransport(t, "n1")
	boom := errors.New("boom")
	err := tr.Run(context.Background(), "n1", &transport.Command{Args: []string{"cat"}, Stdin: io.MultiReader(strings.NewReader("x"), iotest.ErrReader(boom))})
	assert.ErrorIs(t, err, boom)
}

// blockedReader blocks its first Read until release is closed.
type blockedReader struct {
	entered, release chan struct{}
	once             bool
}

func (r *blockedReader) Read(p []byte) (int, error) {
	if !r.once {
		r.once = true
		close(r.entered)
		<-r.release
	}
	return 0, io.EOF
}

// TestStdinReadWaitedFor: once the command has exited by itself, Run waits
// for a Read of Stdin in progress (rule R4), and a cancelled context ends
// that wait; Run then returns the command's result.
func TestStdinReadWaitedFor(t *testing.T) {
	tr := newTransport(t, "n1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &blockedReader{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(in.release)
	errc := make(chan error, 1)
	go func() { errc <- tr.Run(ctx, "n1", &transport.Command{Args: []string{"true"}, Stdin: in}) }()
	<-in.entered
	select {
	case err := <-errc:
		t.Fatalf("Run returned while a Read of its Stdin was in progress: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-errc:
		assert.NoError(t, err, "the command exited 0 before the context ended")
	case <-time.After(3 * time.Second):
		t.Fatal("a cancelled context did not end Run's wait for its Stdin")
	}
}

func TestRootCreated(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	tr, err := localtransport.New(root, nil)
	require.NoError(t, err)
	assert.DirExists(t, root)
	assert.True(t, filepath.IsAbs(tr.Root()))
	_, err = localtransport.New("", nil)
	assert.ErrorIs(t, err, transport.ErrInvalid)
}

// TestBusyProgramIsRetried runs a program while a writer still holds it
// open, as happens when another process forks while a worker is being
// installed: exec fails with ETXTBSY until the writer closes, and Run waits
// for that instead of failing.
func TestBusyProgramIsRetried(t *testing.T) {
	root := t.TempDir()
	tr, err := localtransport.New(root, &localtransport.Options{Hosts: []string{"n1"}})
	require.NoError(t, err)
	defer tr.Close()
	prog := filepath.Join(root, "n1", "worker.sh")
	f, err := os.OpenFile(prog, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = f.WriteString("#!/bin/sh\necho ran\n")
	require.NoError(t, err)
	closed := make(chan struct{})
	go func() {
		time.Sleep(30 * time.Millisecond)
		f.Close()
		close(closed)
	}()
	var out bytes.Buffer
	err = tr.Run(context.Background(), "n1", &transport.Command{Args: []string{"./worker.sh"}, Stdout: &out})
	<-closed
	require.NoError(t, err)
	assert.Equal(t, "ran\n", out.String())
}
