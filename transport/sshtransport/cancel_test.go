package sshtransport_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// lateWriter counts what is written to it, and the writes that come after
// the test marked the Run that writes to it returned.
type lateWriter struct {
	n        atomic.Int64
	returned atomic.Bool
	late     atomic.Int64
}

func (w *lateWriter) Write(p []byte) (int, error) {
	if w.returned.Load() {
		w.late.Add(1)
	}
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// endless is a Command.Stdin that never ends, counting the bytes read.
type endless struct{ n atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}

// TestCancelOnFrozenHost freezes a node (sshd and everything under it) under
// a command, or before its session is open, and cancels the Run: it returns
// with the context's error well before the host could answer (the
// cancellation used to wait for the kill to time out, about 4 s), and
// nothing is written to the caller's writers after it has returned, even
// when the host, thawed, sends what it held. The command is stopped in the
// background once the host answers again: no process is left, and the host
// takes commands again.
func TestCancelOnFrozenHost(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	nd := c.Node(1)
	t.Cleanup(func() { nd.Thaw() })
	// The patterns are the exec'd programs' command lines, which the
	// quotes keep out of the wrapper's own.
	tests := []struct {
		name    string
		shell   string
		pattern string
		stdin   bool
		// frozen before Run: the Run is cancelled while it waits for
		// its session to open; the command leaves started when it
		// starts after all.
		before bool
		// reuse runs the command in a reused session
		// (the default; the other cases set SessionPerCommand), which, cancelled before it has
		// started, never sends the command.
		reuse bool
	}{
		{name: "output streaming", shell: `exec yes dproc-3134""6`, pattern: "yes dproc-31346"},
		{name: "input streaming", shell: `exec dd bs=3134""7 of=/dev/null`, pattern: "dd bs=31347", stdin: true},
		{name: "opening its session", shell: `touch started; exec sleep 3134""8`, pattern: "sleep 31348", before: true},
		{name: "opening a reused session", shell: `touch started; exec sleep 3134""8`, pattern: "sleep 31348", before: true, reuse: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, c.ConfigFile(), &sshtransport.Options{SessionPerCommand: !tc.reuse})
			require.NoError(t, os.RemoveAll(filepath.Join(nd.Home(), "started")))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, errOut := &lateWriter{}, &lateWriter{}
			cmd := &transport.Command{Shell: tc.shell, Stdout: out, Stderr: errOut}
			in := &endless{}
			if tc.stdin {
				cmd.Stdin = in
			}
			if tc.before {
				if tc.reuse {
					// Connected, and past the host's first command,
					// which gets a session of its own.
					_, err := run(ctx, tr, "node1", "true")
					require.NoError(t, err)
				} else {
					require.NoError(t, tr.Ping(ctx, "node1")) // connected
				}
				require.NoError(t, nd.Freeze())
			}
			done := make(chan error, 1)
			go func() {
				err := tr.Run(ctx, "node1", cmd)
				out.returned.Store(true)
				errOut.returned.Store(true)
				done <- err
			}()
			if tc.before {
				time.Sleep(200 * time.Millisecond) // Run is waiting for its session
			} else {
				waitProcess(t, nd, tc.pattern)
				require.Eventually(t, func() bool { return out.n.Load() > 0 || in.n.Load() > 0 },
					10*time.Second, 10*time.Millisecond, "nothing streams")
				require.NoError(t, nd.Freeze())
			}
			start := time.Now()
			cancel()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("a cancelled Run on a frozen host did not return in 10 s")
			}
			took := time.Since(start)
			t.Logf("cancelled Run on the frozen host returned after %v", took)
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, took, 2*time.Second, "a cancelled Run waited for the frozen host")

			require.NoError(t, nd.Thaw())
			switch {
			case tc.before && !tc.reuse:
				require.Eventually(t, func() bool {
					_, err := os.Stat(filepath.Join(nd.Home(), "started"))
					return err == nil
				}, 10*time.Second, 20*time.Millisecond, "the command never started once the host was thawed")
			case tc.before:
				// The session opens once the host runs again, and is
				// closed without a command.
				time.Sleep(1500 * time.Millisecond)
				requireNoProcess(t, nd, "dproc-run")
				assert.NoFileExists(t, filepath.Join(nd.Home(), "started"), "a cancelled command ran")
			}
			requireNoProcess(t, nd, tc.pattern)
			time.Sleep(100 * time.Millisecond) // anything still on its way
			assert.Zero(t, out.late.Load(), "Stdout written after Run returned")
			assert.Zero(t, errOut.late.Load(), "Stderr written after Run returned")
			got, err := run(context.Background(), tr, "node1", "echo again")
			require.NoError(t, err)
			assert.Equal(t, "again\n", got)
		})
	}
}

// TestCancelWaitsForLiveHost pins that a cancelled Run waits for a host
// that answers, however long its kill takes: under ForceCommand sshd
// refuses signals, so the command is killed by a second session, which
// takes longer than a frozen host is waited for; Run still returns only
// once the command is gone from the host.
func TestCancelWaitsForLiveHost(t *testing.T) {
	c := sshtest.StartCluster(t, 1, &sshtest.Options{Home: sshtest.HomeForceCommand})
	nd := c.Node(1)
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, tr, "node1", `exec sleep 3134""9`)
		done <- err
	}()
	waitProcess(t, nd, "sleep 31349")
	start := time.Now()
	cancel()
	err := <-done
	t.Logf("cancelled Run on a live host returned after %v", time.Since(start))
	require.ErrorIs(t, err, context.Canceled)
	ps, err := nd.Processes("sleep 31349")
	require.NoError(t, err)
	assert.Empty(t, ps, "Run returned before the command was killed")
}

// TestCancelOnLongSilentHost pins that a cancelled Run does not wait at all
// for a host that has left a request unanswered for longer than the wait
// for an answer already: a keepalive request of the connection's watch,
// sent after the first silent interval, or a Ping that gave up.
func TestCancelOnLongSilentHost(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	nd := c.Node(1)
	t.Cleanup(func() { nd.Thaw() })
	for _, tc := range []struct {
		name string
		opts *sshtransport.Options
		ping bool // a Ping is left unanswered after the freeze
	}{
		// Keepalives every 100 ms, and never given up on during the test.
		{"keepalive unanswered", &sshtransport.Options{KeepaliveInterval: 100 * time.Millisecond, KeepaliveCountMax: 600}, false},
		// No keepalive during the test: only the Ping asks.
		{"ping unanswered", &sshtransport.Options{KeepaliveInterval: time.Minute}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, c.ConfigFile(), tc.opts)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := run(ctx, tr, "node1", `exec sleep 3135""0`)
				done <- err
			}()
			waitProcess(t, nd, "sleep 31350")
			require.NoError(t, nd.Freeze())
			if tc.ping {
				pctx, pcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				err := tr.Ping(pctx, "node1")
				pcancel()
				require.ErrorIs(t, err, context.DeadlineExceeded, "the frozen host answered a ping")
			}
			time.Sleep(time.Second) // a request unanswered for 500 ms, and more
			start := time.Now()
			cancel()
			err := <-done
			took := time.Since(start)
			t.Logf("cancelled Run on the long-silent host returned after %v", took)
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, took, 250*time.Millisecond, "a cancelled Run waited for a host that left a request unanswered")
			require.NoError(t, nd.Thaw())
			requireNoProcess(t, nd, "sleep 31350")
		})
	}
}
