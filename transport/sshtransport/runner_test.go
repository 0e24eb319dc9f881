package sshtransport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// reuseOpts returns the default Options, which reuse sessions, a new
// value each time.
func reuseOpts() *sshtransport.Options { return &sshtransport.Options{} }

// sized is a command with its input size known, as the dispatcher gives
// every chunk: Run carries it in a reused session.
func sized(cmd transport.Command, input []byte) transport.Command {
	cmd.Stdin = bytes.NewReader(input)
	cmd.InputSize = int64(len(input))
	return cmd
}

// reusing returns a Transport with the default Options, which reuse
// sessions, past the first command of each of c's hosts (which gets a
// session of its own).
func reusing(t *testing.T, c *sshtest.Cluster) *sshtransport.Transport {
	t.Helper()
	tr := newTransport(t, c.ConfigFile(), reuseOpts())
	for _, h := range c.Hosts() {
		require.NoError(t, tr.Run(context.Background(), h, &transport.Command{Args: []string{"true"}}))
	}
	return tr
}

// loopPID runs a command that prints the pid of the shell it runs under:
// the same for every command of one reused session, a new one for every
// session of its own. A host's first command always gets a session of its
// own: tests call loopPID once before they take the pid to compare with.
func loopPID(t *testing.T, tr *sshtransport.Transport, host string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := sized(transport.Command{Shell: "cat >/dev/null; echo $$", Stdout: &out}, []byte("x\n"))
	require.NoError(t, tr.Run(context.Background(), host, &cmd))
	return strings.TrimSpace(out.String())
}

// TestLargeInputOwnSession pins the size rule of reused sessions: an
// input of 16 MiB or more runs in a session of its own, with its output
// and unread count as in any session, and the reused session carries on
// after it; an input a byte shorter runs in the reused session.
func TestLargeInputOwnSession(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	tr := reusing(t, c)
	loop := loopPID(t, tr, "node1")
	big := bytes.Repeat([]byte("0123456789abcde\n"), 1<<20) // 16 MiB
	for _, tc := range []struct {
		name  string
		input []byte
		own   bool
	}{
		{"16 MiB", big, true},
		{"16 MiB less a byte", big[:len(big)-1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var unread int64
			// Reads half, prints its shell's pid and a count of what it read.
			cmd := sized(transport.Command{Shell: "head -c 8388608 | wc -c; echo $$", Stdout: &out, Unread: &unread}, tc.input)
			require.NoError(t, tr.Run(context.Background(), "node1", &cmd))
			fields := strings.Fields(out.String())
			require.Len(t, fields, 2, "output %q", out.String())
			assert.Equal(t, "8388608", fields[0])
			if tc.own {
				assert.NotEqual(t, loop, fields[1], "a 16 MiB input ran in the reused session")
			} else {
				assert.Equal(t, loop, fields[1], "an input under 16 MiB got a session of its own")
			}
			assert.Equal(t, int64(len(tc.input)-8388608), unread, "unread count")
			assert.Equal(t, loop, loopPID(t, tr, "node1"), "the reused session carries on")
		})
	}
}

// TestReusedSessions runs commands one after another in reused sessions of
// a real sshd node: each gets its own output, standard error, exit status,
// signal, unread count, directory and environment, however the previous
// one ended, and they share one session, where a Transport with
// SessionPerCommand gives each its own.
func TestReusedSessions(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	tr := reusing(t, c)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB

	first := loopPID(t, tr, "node1")
	for i := 0; i < 5; i++ {
		assert.Equal(t, first, loopPID(t, tr, "node1"), "command %d ran in another session", i)
	}
	fresh := newTransport(t, c.ConfigFile(), reuseOpts())
	p1, p2, p3 := loopPID(t, fresh, "node1"), loopPID(t, fresh, "node1"), loopPID(t, fresh, "node1")
	assert.NotEqual(t, p1, p2, "a host's first command runs in a session of its own")
	assert.Equal(t, p2, p3, "the commands after the first share a session")
	one := newTransport(t, c.ConfigFile(), &sshtransport.Options{SessionPerCommand: true})
	assert.NotEqual(t, loopPID(t, one, "node1"), loopPID(t, one, "node1"), "with SessionPerCommand")

	for _, tc := range []struct {
		name   string
		cmd    transport.Command
		input  []byte
		out    string
		stderr string
		code   int
		signal string
		unread int64
	}{
		{name: "tr", cmd: transport.Command{Args: []string{"tr", "a-z", "A-Z"}}, input: []byte("hello\n"), out: "HELLO\n"},
		{name: "no final newline", cmd: transport.Command{Shell: "printf %s \"$(cat)\""}, input: []byte("abc"), out: "abc"},
		{name: "binary with NULs and a partial mark", cmd: transport.Command{Args: []string{"cat"}}, input: []byte("a\x00dproc-run-\x00\x00:b\x00"), out: "a\x00dproc-run-\x00\x00:b\x00"},
		{name: "exit 3 with stderr", cmd: transport.Command{Shell: "cat >/dev/null; echo oops >&2; exit 3"}, input: []byte("x"), stderr: "oops\n", code: 3},
		{name: "killed by TERM", cmd: transport.Command{Shell: "cat >/dev/null; sh -c 'kill -TERM $$'"}, input: []byte("x"), stderr: "Terminated\n", code: 143, signal: "TERM"},
		{name: "reads nothing of 1 MiB", cmd: transport.Command{Shell: "echo done"}, input: big, out: "done\n", unread: int64(len(big))},
		{name: "head -c 10 of 1 MiB", cmd: transport.Command{Args: []string{"head", "-c", "10"}}, input: big, out: "0123456789", unread: int64(len(big) - 10)},
		{name: "all of 1 MiB", cmd: transport.Command{Args: []string{"wc", "-c"}}, input: big, out: fmt.Sprintf("%d\n", len(big))},
		{name: "background writer", cmd: transport.Command{Shell: "cat >/dev/null; (sleep 0.3; echo late; echo late2 >&2) & echo early"}, input: []byte("x"), out: "early\nlate\n", stderr: "late2\n"},
		{name: "no input", cmd: transport.Command{Shell: "cat; echo empty"}, out: "empty\n"},
		{name: "background writer, no input", cmd: transport.Command{Shell: "(sleep 0.3; echo late; echo late2 >&2) & echo early"}, out: "early\nlate\n", stderr: "late2\n"},
		// Go's os/exec and Python's subprocess pass a child only its
		// standard descriptors: the end still waits for its output.
		{name: "background writer that closes its other descriptors", cmd: transport.Command{Shell: "(exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; sleep 0.3; echo late; echo late2 >&2) & echo early"}, out: "early\nlate\n", stderr: "late2\n"},
		{name: "script lines as written", cmd: transport.Command{Shell: "  printf '[%s]' ' a\tb\r' '\\x' \\\n  'c'\ncat <<'E'\n  \\ $x\nE\n\n"}, out: "[ a\tb\r][\\x][c]  \\ $x\n"},
		{name: "script ends in a backslash", cmd: transport.Command{Shell: "echo a\\"}, out: "a\\\n"},
		{name: "cannot read the session", cmd: transport.Command{Shell: "cat 2>/dev/null <&4; cat 2>/dev/null <&3; cat; echo ok"}, input: []byte("in\n"), out: "in\nok\n"},
		{name: "positional parameters and loop variables", cmd: transport.Command{Shell: "cat >/dev/null; echo \"[$#][$1][${_dproc_t-}][${_dproc_d-}][$(command -v _dproc_job)]\""}, input: []byte("x"), out: "[0][][][][]\n"},
		{name: "env and dir", cmd: transport.Command{Shell: "cat >/dev/null; echo \"$FOO $(basename \"$PWD\")\"; export BAR=1; cd /", Env: []string{"FOO=it's $x"}, Dir: "sub"}, input: []byte("x"), out: "it's $x sub\n"},
		{name: "nothing leaks from the last command", cmd: transport.Command{Shell: "cat >/dev/null; echo \"[${BAR-}][${FOO-}] $PWD\""}, input: []byte("x"), out: "[][] " + c.Node(1).Home() + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cmd.Dir != "" {
				require.NoError(t, tr.Run(ctx, "node1", &transport.Command{Args: []string{"mkdir", "-p", tc.cmd.Dir}}))
			}
			var out, stderr bytes.Buffer
			unread := int64(-2)
			cmd := tc.cmd
			if tc.input != nil {
				cmd = sized(cmd, tc.input)
			}
			cmd.Stdout, cmd.Stderr, cmd.Unread = &out, &stderr, &unread
			err := tr.Run(ctx, "node1", &cmd)
			if tc.code == 0 {
				require.NoError(t, err)
			} else {
				var ee *transport.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, tc.code, ee.Code)
				assert.Equal(t, tc.signal, ee.Signal)
				assert.Equal(t, tc.stderr, string(ee.Stderr))
				assert.False(t, transport.IsLost(err))
			}
			assert.Equal(t, tc.out, out.String())
			assert.Equal(t, tc.stderr, stderr.String())
			assert.Equal(t, tc.unread, unread)
			assert.Equal(t, first, loopPID(t, tr, "node1"), "the session was not reused after %s", tc.name)
		})
	}
}

// TestReusedSessionBadInput gives a reused session an input that fails or
// ends before its InputSize: Run says so, the command is killed, and the
// next command runs in a fresh session.
func TestReusedSessionBadInput(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	tr := reusing(t, c)
	ctx := context.Background()
	before := loopPID(t, tr, "node1")

	boom := errors.New("disk on fire")
	in := io.MultiReader(bytes.NewReader(make([]byte, 100<<10)), iotest.ErrReader(boom))
	cmd := transport.Command{Args: []string{"cat"}, Stdin: in, InputSize: 1 << 20, Stdout: io.Discard}
	err := tr.Run(ctx, "node1", &cmd)
	require.ErrorIs(t, err, boom)
	assert.False(t, transport.IsLost(err))
	after := loopPID(t, tr, "node1")
	assert.NotEqual(t, before, after)

	var out bytes.Buffer
	cmd = transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader("short"), InputSize: 10, Stdout: &out}
	err = tr.Run(ctx, "node1", &cmd)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "InputSize")
	assert.Contains(t, err.Error(), "5 of 10")
	assert.Empty(t, out.String(), "a command given a short input must not see end of file")
	assert.NotEqual(t, after, loopPID(t, tr, "node1"))
}

// TestReusedSessionCancel cancels a command in a reused session: the
// command and its loop are killed on the host, and the next command gets a
// new session.
func TestReusedSessionCancel(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	if !c.SignalsWork() {
		t.Log("signal requests are refused here; the kill goes through a second session")
	}
	tr := reusing(t, c)
	before := loopPID(t, tr, "node1")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		cmd := sized(transport.Command{Shell: "cat >/dev/null; sleep 77.5"}, []byte("x"))
		errc <- tr.Run(ctx, "node1", &cmd)
	}()
	waitProcess(t, c.Node(1), "sleep 77.5")
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	requireNoProcess(t, c.Node(1), "sleep 77.5")
	assert.NotEqual(t, before, loopPID(t, tr, "node1"))
}

// TestReusedSessionsConcurrent runs many commands at once on two nodes,
// more than one connection's sessions, with random inputs: every output is
// its own input, transformed, and nothing is lost or mixed up.
func TestReusedSessionsConcurrent(t *testing.T) {
	c := sshtest.StartCluster(t, 2, nil)
	tr := reusing(t, c)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w := 0; w < 24; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			host := c.Hosts()[w%2]
			for i := 0; i < 8; i++ {
				in := make([]byte, rng.IntN(300<<10))
				for j := range in {
					in[j] = "abcdefgh\n\x00"[rng.IntN(10)]
				}
				var out bytes.Buffer
				code := rng.IntN(3)
				cmd := sized(transport.Command{Shell: fmt.Sprintf("tr a-h A-H; exit %d", code), Stdout: &out}, in)
				if len(in) == 0 {
					cmd.Stdin = nil
				}
				err := tr.Run(ctx, host, &cmd)
				var ee *transport.ExitError
				switch {
				case code == 0 && err != nil, code != 0 && (!errors.As(err, &ee) || ee.Code != code):
					errs <- fmt.Errorf("worker %d command %d: exit %d: %v", w, i, code, err)
				case !bytes.Equal(out.Bytes(), bytes.ToUpper(in)):
					errs <- fmt.Errorf("worker %d command %d: output differs (%d bytes, want %d)", w, i, out.Len(), len(in))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestReusedSessionNewCats makes a reused session's loop start new cats
// every 3 commands: over 20 commands of every kind, each still gets its
// own output, exit status and unread count, in one session.
func TestReusedSessionNewCats(t *testing.T) {
	defer sshtransport.SetCatNames(3)()
	c := sshtest.StartCluster(t, 1, nil)
	tr := reusing(t, c)
	ctx := context.Background()
	first := loopPID(t, tr, "node1")
	for i := 0; i < 20; i++ {
		var out, stderr bytes.Buffer
		unread := int64(-2)
		cmd := transport.Command{Shell: fmt.Sprintf("head -c 2; echo \" $$ %d\"; echo e%d >&2; exit %d", i, i, i%3), Stdout: &out, Stderr: &stderr, Unread: &unread}
		want, wantUnread := fmt.Sprintf("%s %s %d\n", "ab", first, i), int64(3)
		if i%2 == 0 {
			cmd = sized(cmd, []byte("abcde"))
		} else {
			want, wantUnread = fmt.Sprintf(" %s %d\n", first, i), 0
		}
		err := tr.Run(ctx, "node1", &cmd)
		if i%3 == 0 {
			require.NoError(t, err, "command %d", i)
		} else {
			var ee *transport.ExitError
			require.ErrorAs(t, err, &ee, "command %d", i)
			assert.Equal(t, i%3, ee.Code, "command %d", i)
		}
		assert.Equal(t, want, out.String(), "command %d", i)
		assert.Equal(t, fmt.Sprintf("e%d\n", i), stderr.String(), "command %d", i)
		assert.Equal(t, wantUnread, unread, "command %d", i)
	}
	assert.Equal(t, first, loopPID(t, tr, "node1"))
}

// TestReusedSessionLeftoverElsewhere leaves a process behind with its
// output on /dev/null: as with a session of its own, the command ends
// without waiting for it.
func TestReusedSessionLeftoverElsewhere(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	tr := reusing(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid := loopPID(t, tr, "node1")
	var out bytes.Buffer
	cmd := transport.Command{Shell: "sleep 71.5 </dev/null >/dev/null 2>&1 & echo started", Stdout: &out}
	require.NoError(t, tr.Run(ctx, "node1", &cmd), "the command waited for a process with its output elsewhere")
	assert.Equal(t, "started\n", out.String())
	waitProcess(t, c.Node(1), "sleep 71.5")
	assert.Equal(t, pid, loopPID(t, tr, "node1"))
}
