package e2e_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/sshtest"
	"dproc/split"
	"dproc/transport"
)

// The fault tests share one workload: about 1 MiB of text in 32 KiB chunks,
// each taking a fifth of a second of "work" on its node, so that a fault
// strikes while chunks are in flight.
const (
	faultSize   = 1 << 20
	faultBlock  = 32 << 10
	faultWorker = "sleep 0.2; " + upperShell
)

// faultPipeline returns the fault workload over tr on hosts.
func faultPipeline(tr transport.Transport, hosts []string, data []byte) *pipeline {
	return &pipeline{
		tr: tr, hosts: hosts, data: data, block: faultBlock,
		job:  dispatch.Job{Shell: faultWorker},
		opts: dispatch.Options{ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 2 * time.Second},
	}
}

// midRun returns an event hook that calls fault (once, in its own
// goroutine) when host starts a chunk after it has committed one, so that
// the fault strikes in the middle of the run with work in flight on host.
// The returned once's wait blocks until fault has returned.
func midRun(host string, fault func()) (func(dispatch.Event), *once) {
	o := &once{}
	done := 0 // only touched by the dispatcher's scheduling goroutine
	return func(e dispatch.Event) {
		if e.Host != host {
			return
		}
		switch e.Kind {
		case dispatch.ChunkDone:
			done++
		case dispatch.ChunkStarted:
			if done > 0 {
				o.do(fault)
			}
		}
	}, o
}

// requireMoved checks that host lost at least one attempt and that every
// chunk lost there was committed afterwards by a later attempt.
func requireMoved(t *testing.T, res *result, host string) {
	t.Helper()
	assert.GreaterOrEqual(t, res.events.count(dispatch.HostDown, host), 1, "no host-down event for %s", host)
	lost := map[int]int{} // chunk -> attempt lost on host
	for _, e := range res.events.all() {
		if e.Kind == dispatch.ChunkLost && e.Host == host {
			lost[e.Chunk] = e.Attempt
			assert.True(t, transport.IsLost(e.Err) || errors.Is(e.Err, context.DeadlineExceeded),
				"chunk %d lost on %s with an error that is not lost: %v", e.Chunk, host, e.Err)
		}
	}
	require.NotEmpty(t, lost, "no chunk was lost on %s", host)
	for _, e := range res.events.all() {
		if a, ok := lost[e.Chunk]; ok && e.Kind == dispatch.ChunkDone {
			assert.Greater(t, e.Attempt, a, "chunk %d committed by the attempt lost on %s", e.Chunk, host)
			delete(lost, e.Chunk)
		}
	}
	assert.Empty(t, lost, "chunks lost on %s and never committed", host)
}

// requireDoneElsewhere checks that every chunk host started and did not
// commit (at least one) was committed by another host.
func requireDoneElsewhere(t *testing.T, res *result, host string) {
	t.Helper()
	open := map[int]bool{} // chunks started on host and not committed there
	for _, e := range res.events.all() {
		if e.Host != host {
			continue
		}
		switch e.Kind {
		case dispatch.ChunkStarted:
			open[e.Chunk] = true
		case dispatch.ChunkDone:
			delete(open, e.Chunk)
		}
	}
	require.NotEmpty(t, open, "%s committed every chunk it started", host)
	for _, e := range res.events.all() {
		if e.Kind == dispatch.ChunkDone && open[e.Chunk] {
			assert.NotEqual(t, host, e.Host)
			delete(open, e.Chunk)
		}
	}
	assert.Empty(t, open, "chunks started on %s and never committed elsewhere", host)
}

// frozenCost bounds what a node frozen mid-run may add to the run's time
// with the default options: the stall floor (2 s), a chunk's work on
// another node, and the cancellation of the frozen node's attempts, which
// waits half a second for a host that does not answer, plus a margin for a
// loaded machine. Waiting for the frozen node to answer the kill (about
// 4 s more) exceeds it.
const frozenCost = 5 * time.Second

// requireFrozenCost checks that the run with a frozen node took at most
// frozenCost longer than the undisturbed one.
func requireFrozenCost(t *testing.T, base, frozen *result) {
	t.Helper()
	assert.Less(t, frozen.elapsed-base.elapsed, frozenCost,
		"the frozen node cost too much: undisturbed %s, frozen %s", base.elapsed, frozen.elapsed)
}

// TestNodeKilledMidRun kills node2's sshd and every session while it runs
// chunks, then starts it again: the run finishes with the reference output,
// node2's chunks run again, and node2 is reported down (and up again once
// its probe succeeds, when the run lasts long enough).
func TestNodeKilledMidRun(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	data := textData(faultSize)
	want := asciiUpper(data)
	ctx := testContext(t, 60*time.Second)

	base := faultPipeline(newSSH(t, c, 0), c.Hosts(), data).run(t, ctx, nil)
	requireComplete(t, base, want)

	victim := c.Node(2)
	var killErr, startErr error
	var killedAt time.Time
	hook, fault := midRun("node2", func() {
		killedAt = time.Now()
		killErr = victim.Kill()
		t.Logf("node2 killed at %s in %s", killedAt.Format("15:04:05.000"), time.Since(killedAt).Round(time.Millisecond))
		time.Sleep(300 * time.Millisecond)
		startErr = victim.Start()
	})
	res := faultPipeline(newSSH(t, c, 0), c.Hosts(), data).run(t, ctx, hook)
	fault.wait()
	require.NoError(t, killErr)
	require.NoError(t, startErr)
	require.False(t, killedAt.IsZero(), "node2 was never killed")
	requireComplete(t, res, want)
	requireMoved(t, res, "node2")
	t.Logf("host-up events for node2 after its restart: %d", res.events.count(dispatch.HostUp, "node2"))
	logDurations(t, "killed-node", base.elapsed, res.elapsed)
}

// TestNodeFrozenMidRun stops node2 (sshd and its sessions) with SIGSTOP
// while it runs chunks. Fast keepalives (200 ms × 3), or a per-attempt
// timeout with stall detection off, declare its attempts lost and its
// chunks run again; with every option at its default, stall detection
// copies its chunks elsewhere. Either way the run finishes with the
// reference output within the detection time plus the work, every chunk
// node2 did not commit committed by another node.
func TestNodeFrozenMidRun(t *testing.T) {
	tests := []struct {
		name      string
		keepalive time.Duration
		timeout   time.Duration
		noStall   bool
	}{
		{name: "keepalive", keepalive: 200 * time.Millisecond},
		// The default keepalives (2 s × 3) and stall detection (2 s
		// floor) would come first: with stall detection off, the
		// per-attempt timeout must catch the frozen node.
		{name: "timeout", timeout: 3 * time.Second, noStall: true},
		// The defaults: the attempts on node2 stall and are copied to
		// the other nodes, whose copies commit; node2's attempts are
		// cancelled without waiting for node2, so the run may end
		// before node2's probe fails and nothing is lost there.
		{name: "stall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sshtest.StartCluster(t, 3, nil)
			data := textData(faultSize)
			want := asciiUpper(data)
			ctx := testContext(t, 60*time.Second)

			newPipeline := func() *pipeline {
				p := faultPipeline(newSSH(t, c, tt.keepalive), c.Hosts(), data)
				p.opts.Timeout = tt.timeout
				p.opts.Stall.Off = tt.noStall
				return p
			}
			base := newPipeline().run(t, ctx, nil)
			requireComplete(t, base, want)

			victim := c.Node(2)
			t.Cleanup(func() { assert.NoError(t, victim.Thaw()) })
			var freezeErr error
			var frozenAt time.Time
			hook, fault := midRun("node2", func() {
				frozenAt = time.Now()
				freezeErr = victim.Freeze()
			})
			// A run stuck on the frozen node is a failure, not a hang:
			// a watchdog thaws the node after 20 s so the run can end.
			stop := make(chan struct{})
			watchdog := make(chan bool, 1)
			go func() {
				select {
				case <-stop:
					watchdog <- false
				case <-time.After(20 * time.Second):
					_ = victim.Thaw()
					watchdog <- true
				}
			}()
			res := newPipeline().run(t, ctx, hook)
			close(stop)
			require.False(t, <-watchdog, "the run was stuck on the frozen node for 20s (it ended only when the node was thawed, after %s)", res.elapsed.Round(time.Millisecond))
			fault.wait()
			require.NoError(t, freezeErr)
			require.False(t, frozenAt.IsZero(), "node2 was never frozen")
			requireComplete(t, res, want)
			requireDoneElsewhere(t, res, "node2")
			assert.Less(t, res.elapsed, 20*time.Second, "the frozen-node run took too long")
			// Detection: 600 ms of keepalives, the attempt timeout, or
			// the stall floor (2 s), plus a generous margin for a
			// loaded machine.
			detected, bound := dispatch.ChunkStalled, 2*time.Second+5*time.Second
			switch {
			case tt.keepalive > 0:
				detected, bound = dispatch.HostDown, 3*tt.keepalive+5*time.Second
			case tt.timeout > 0:
				detected, bound = dispatch.HostDown, tt.timeout+5*time.Second
			}
			if detected == dispatch.HostDown {
				requireMoved(t, res, "node2")
			} else {
				assert.GreaterOrEqual(t, res.rep.Speculative, 1, "no copy of node2's stalled chunks")
				requireFrozenCost(t, base, res)
			}
			var seen bool
			for _, e := range res.events.all() {
				if e.Kind == detected && e.Host == "node2" {
					took := e.Time.Sub(frozenAt)
					t.Logf("node2 detected (%s) %s after it was frozen: %v", e.Kind, took.Round(time.Millisecond), e.Err)
					assert.Less(t, took, bound, "the frozen node was detected too late")
					seen = true
					break
				}
			}
			assert.True(t, seen, "no %s event for node2", detected)
			logDurations(t, "frozen-node-"+tt.name, base.elapsed, res.elapsed)
		})
	}
}

// TestConnectionsCutMidStream reaches node2 through a TCP proxy and cuts
// every connection while chunks stream through it: the chunks in flight are
// lost and run again, and the output is the reference.
func TestConnectionsCutMidStream(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	proxy := sshtest.NewProxy(t, c.Node(2).Addr())
	require.NoError(t, c.AddAlias("node2p", proxy.Addr(), c.Node(2)))
	hosts := []string{"node1", "node2p", "node3"}
	data := textData(faultSize)
	want := asciiUpper(data)
	ctx := testContext(t, 60*time.Second)

	hook, fault := midRun("node2p", proxy.CutAll)
	res := faultPipeline(newSSH(t, c, 0), hosts, data).run(t, ctx, hook)
	fault.wait()
	requireComplete(t, res, want)
	requireMoved(t, res, "node2p")
	assert.Greater(t, proxy.Accepted(), 1, "no new connection through the proxy after the cut")
	t.Logf("run with a cut took %s; %d connections through the proxy", res.elapsed.Round(time.Millisecond), proxy.Accepted())
}

// TestCancelLeavesNoWorker cancels a run while every node runs workers and
// checks that no worker process is left on any node.
func TestCancelLeavesNoWorker(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	const pattern = "sleep 37"
	tr := newSSH(t, c, 0)
	d, err := dispatch.New(tr, c.Hosts(), nil)
	require.NoError(t, err)
	data := textData(64 << 10)
	s := split.Blocks(bytesReader(data), int64(len(data)), 1<<10, nil)
	job := &dispatch.Job{Shell: "exec " + pattern}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, runErr = d.Run(ctx, job, s, gather.Ordered(discard{}, nil), nil)
	}()
	for _, nd := range c.Nodes() {
		waitProcess(t, nd, pattern)
	}
	cancel()
	wg.Wait()
	require.Error(t, runErr)
	assert.ErrorIs(t, runErr, context.Canceled)

	start := time.Now()
	for _, nd := range c.Nodes() {
		ps, err := nd.Processes(pattern)
		require.NoError(t, err)
		if len(ps) > 0 {
			t.Logf("%s still runs %d worker(s) when Run returns", nd.Name(), len(ps))
		}
	}
	for _, nd := range c.Nodes() {
		requireNoProcess(t, nd, pattern)
	}
	t.Logf("no worker left on any node %s after Run returned", time.Since(start).Round(time.Millisecond))
}

// waitProcess waits until node nd runs a process matching pattern.
func waitProcess(t *testing.T, nd *sshtest.Node, pattern string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ps, err := nd.Processes(pattern)
		return err == nil && len(ps) > 0
	}, 20*time.Second, 20*time.Millisecond, "no process %q on %s", pattern, nd.Name())
}

// requireNoProcess waits until node nd runs no process matching pattern.
func requireNoProcess(t *testing.T, nd *sshtest.Node, pattern string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ps, err := nd.Processes(pattern)
		return err == nil && len(ps) == 0
	}, 5*time.Second, 20*time.Millisecond, "process %q still runs on %s", pattern, nd.Name())
}
