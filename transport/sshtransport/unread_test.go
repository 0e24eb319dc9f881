package sshtransport_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/transport"
)

// TestUnreadOverSSH counts the input a command left on a real sshd node,
// where the channel's window takes a chunk of 1 MiB whole: the count is
// taken at the command, a signal that kills the command is still reported
// as one, and cancelling a command whose input is counted kills it as any
// other, in both of sshd's ways of running it.
func TestUnreadOverSSH(t *testing.T) {
	for _, mode := range []sshtest.HomeMode{sshtest.HomeAuto, sshtest.HomeForceCommand} {
		t.Run(mode.String(), func(t *testing.T) {
			c := sshtest.StartCluster(t, 1, &sshtest.Options{Home: mode})
			tr := newTransport(t, c.ConfigFile(), nil)
			input := []byte(strings.Repeat("a line of the input\n", 1<<20/20))

			for _, tc := range []struct {
				name   string
				cmd    transport.Command
				unread int64
				out    string
			}{
				{"head -n 1", transport.Command{Shell: "head -n 1"}, -1, "a line of the input\n"},
				{"head -c 20", transport.Command{Args: []string{"head", "-c", "20"}}, int64(len(input) - 20), "a line of the input\n"},
				{"cat", transport.Command{Args: []string{"cat"}}, 0, string(input)},
				{"exit 0", transport.Command{Shell: "exit 0"}, int64(len(input)), ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var out bytes.Buffer
					unread := int64(-2)
					cmd := tc.cmd
					cmd.Stdin, cmd.Stdout, cmd.Unread = bytes.NewReader(input), &out, &unread
					require.NoError(t, tr.Run(context.Background(), "node1", &cmd))
					assert.Equal(t, tc.out, out.String())
					if tc.unread < 0 {
						// head reads a block of what the pipe holds.
						assert.Greater(t, unread, int64(len(input)-(64<<10)))
						assert.Less(t, unread, int64(len(input)))
					} else {
						assert.Equal(t, tc.unread, unread)
					}
				})
			}

			t.Run("killed by a signal", func(t *testing.T) {
				unread := int64(-2)
				cmd := transport.Command{Shell: `sh -c 'kill -SEGV $$'`, Stdin: bytes.NewReader(input), Unread: &unread}
				err := tr.Run(context.Background(), "node1", &cmd)
				var ee *transport.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, 128+11, ee.Code)
				assert.Equal(t, "SEGV", ee.Signal)
				assert.Equal(t, int64(len(input)), unread)
			})

			t.Run("cancel", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				unread := int64(-2)
				done := make(chan error, 1)
				go func() {
					done <- tr.Run(ctx, "node1", &transport.Command{Shell: "sleep 31339", Stdin: bytes.NewReader(input), Unread: &unread})
				}()
				waitProcess(t, c.Node(1), "sleep 31339")
				start := time.Now()
				cancel()
				require.ErrorIs(t, <-done, context.Canceled)
				t.Logf("cancelled in %v", time.Since(start).Round(time.Millisecond))
				assert.Equal(t, int64(-1), unread, "a cancelled command's unread input is not known")
				requireNoProcess(t, c.Node(1), "sleep 31339")
			})
		})
	}
}

// lineRecorder keeps the writes of one Run's standard error and tells when
// a whole "note\n" has come.
type lineRecorder struct {
	mu     sync.Mutex
	writes []string
	noted  chan struct{}
}

func (r *lineRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	if strings.Contains(strings.Join(r.writes, ""), "note\n") {
		select {
		case <-r.noted:
		default:
			close(r.noted)
		}
	}
	return len(p), nil
}

// TestUnreadStderrLines runs commands whose input is counted, side by side
// on a real sshd node, each writing a line to standard error and then
// reading its input, which the test ends only once that line has reached
// the Run's Stderr: a line a command writes must reach Stderr whole and at
// once, not with its newline held back until the command exits (which
// would interleave the lines of commands sharing a writer), and what
// reaches Stderr is the command's standard error byte for byte.
func TestUnreadStderrLines(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	tr := newTransport(t, c.ConfigFile(), nil)
	const runs = 6
	type result struct {
		err    error
		unread int64
		out    string
	}
	results := make([]result, runs)
	recs := make([]*lineRecorder, runs)
	pipes := make([]*io.PipeWriter, runs)
	var wg sync.WaitGroup
	for i := range runs {
		pr, pw := io.Pipe()
		rec := &lineRecorder{noted: make(chan struct{})}
		recs[i], pipes[i] = rec, pw
		wg.Go(func() {
			var out bytes.Buffer
			unread := int64(-2)
			cmd := transport.Command{
				Shell:  "echo note >&2; tr a-z A-Z; printf 'last\\nno newline' >&2",
				Stdin:  pr,
				Stdout: &out,
				Stderr: rec,
				Unread: &unread,
			}
			err := tr.Run(context.Background(), "node1", &cmd)
			results[i] = result{err, unread, out.String()}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, rec := range recs {
		select {
		case <-rec.noted:
		case <-time.After(time.Until(deadline)):
			rec.mu.Lock()
			t.Errorf("run %d: no whole line on standard error while the command runs: %q", i, rec.writes)
			rec.mu.Unlock()
		}
		_, err := io.WriteString(pipes[i], "abc\n")
		require.NoError(t, err)
		require.NoError(t, pipes[i].Close())
	}
	wg.Wait()
	for i, res := range results {
		require.NoError(t, res.err, "run %d", i)
		assert.Equal(t, "ABC\n", res.out, "run %d", i)
		assert.Equal(t, int64(0), res.unread, "run %d", i)
		assert.Equal(t, "note\nlast\nno newline", strings.Join(recs[i].writes, ""), "run %d: standard error byte for byte", i)
		assert.Equal(t, "note\n", recs[i].writes[0], "run %d: the line in one write", i)
	}
}
