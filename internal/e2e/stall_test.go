package e2e_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/internal/sshtest"
)

// The stall workload: 12 chunks of 64 KiB, each taking about a third of a
// second on its node, so that with two slots on each of three nodes the
// run is two waves of chunks.
const (
	stallSize   = 12 << 16
	stallBlock  = 1 << 16
	stallWorker = "sleep 0.3; " + upperShell
)

// TestFrozenNodeGetsSpeculativeCopies freezes node2 (sshd and every process
// under it, with SIGSTOP) as it starts its second wave of chunks, with
// every option at its default: the dispatcher sees node2's attempts make no
// progress, node2 does not answer the probe that follows, and the attempts
// are copied to the other nodes' free slots.
// The output is the reference, the report counts the copies, the frozen
// node's cancelled attempts are not waited for, and the undisturbed run
// launches none.
func TestFrozenNodeGetsSpeculativeCopies(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	data := textData(stallSize)
	want := asciiUpper(data)
	ctx := testContext(t, 60*time.Second)
	newPipeline := func() *pipeline {
		// Default transport and dispatch options.
		return &pipeline{tr: newSSH(t, c, 0), hosts: c.Hosts(), data: data, block: stallBlock,
			job: dispatch.Job{Shell: stallWorker}}
	}

	base := newPipeline().run(t, ctx, nil)
	requireComplete(t, base, want)
	assert.Zero(t, base.rep.Speculative, "an undisturbed run launches no copy")
	assert.Zero(t, base.events.count(dispatch.ChunkSpeculated, ""))
	assert.Zero(t, base.events.count(dispatch.ChunkStalled, ""))

	victim := c.Node(2)
	t.Cleanup(func() { assert.NoError(t, victim.Thaw()) })
	var freezeErr error
	var frozenAt time.Time
	hook, fault := midRun("node2", func() {
		frozenAt = time.Now()
		freezeErr = victim.Freeze()
	})
	// A run stuck on the frozen node is a failure, not a hang: a watchdog
	// thaws the node after 30 s so that the run can end.
	stop := make(chan struct{})
	watchdog := make(chan bool, 1)
	go func() {
		select {
		case <-stop:
			watchdog <- false
		case <-time.After(30 * time.Second):
			_ = victim.Thaw()
			watchdog <- true
		}
	}()
	res := newPipeline().run(t, ctx, hook)
	close(stop)
	require.False(t, <-watchdog, "the run was stuck on the frozen node for 30 s (it ended after %s, once the node was thawed)",
		res.elapsed.Round(time.Millisecond))
	fault.wait()
	require.NoError(t, freezeErr)
	require.False(t, frozenAt.IsZero(), "node2 was never frozen")
	requireComplete(t, res, want)

	assert.GreaterOrEqual(t, res.events.count(dispatch.ChunkStalled, "node2"), 1, "node2's attempts stalled")
	assert.GreaterOrEqual(t, res.rep.Speculative, 1, "the report counts the copies")
	copies := res.events.count(dispatch.ChunkSpeculated, "")
	assert.Equal(t, res.rep.Speculative, copies)
	assert.Zero(t, res.events.count(dispatch.ChunkSpeculated, "node2"), "no copy on the frozen node")
	stalled := map[int]bool{}
	for _, e := range res.events.all() {
		if e.Kind == dispatch.ChunkStalled && e.Host == "node2" {
			stalled[e.Chunk] = true
			// Its probe went unanswered: it did not wait for the
			// 2 s floor of silence of a host that answers.
			assert.Less(t, e.Duration, 2*time.Second, "chunk %d stalled by its silence, not by node2's unanswered probe", e.Chunk)
		}
	}
	for _, e := range res.events.all() {
		if e.Kind == dispatch.ChunkDone && stalled[e.Chunk] {
			assert.NotEqual(t, "node2", e.Host, "chunk %d, stalled on node2, was committed elsewhere", e.Chunk)
		}
	}
	requireFrozenCost(t, base, res)
	logDurations(t, "frozen-node-stall", base.elapsed, res.elapsed)
}
