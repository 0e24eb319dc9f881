package e2e_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"dproc/dispatch"
	"dproc/internal/sshtest"
)

// TestStockSSHManySlots runs the pipeline with 30 slots per host on three
// stock sshd nodes (OpenSSH's MaxSessions 10 and MaxStartups 10:30:100),
// with the transport's default options: 90 workers start at once, which
// takes four connections per host, each dialled under the handshake
// limits. The output equals the reference and no attempt is lost, retried
// or failed.
func TestStockSSHManySlots(t *testing.T) {
	c := sshtest.StartCluster(t, 3, &sshtest.Options{Stock: true})
	data := textData(180*16<<10 + 777)
	p := &pipeline{
		tr:    newSSH(t, c, 0), // 0: the default keepalives
		hosts: c.Hosts(),
		opts:  dispatch.Options{Slots: 30},
		// The sleep keeps the 30 workers of a host running at once.
		job:   dispatch.Job{Shell: "sleep 0.3; " + upperShell},
		data:  data,
		block: 16 << 10,
	}
	res := p.run(t, testContext(t, 60*time.Second), nil)
	requireComplete(t, res, asciiUpper(data))
	for _, h := range res.rep.Hosts {
		assert.Equal(t, 30, h.Slots, h.Host)
		assert.Positive(t, h.Done, h.Host)
		assert.Zero(t, h.Lost, "%s lost attempts: %v", h.Host, h.LastErr)
		assert.Zero(t, h.Retries, h.Host)
		assert.Zero(t, h.Failures, h.Host)
		assert.False(t, h.Down, h.Host)
	}
	for _, nd := range c.Nodes() {
		assert.NotContains(t, nd.LogTail(1<<24), "past MaxStartups", nd.Name())
	}
	t.Logf("%d chunks on 3 stock nodes × 30 slots in %v (speculative copies: %d)",
		res.rep.Chunks, res.elapsed.Round(time.Millisecond), res.rep.Speculative)
}
