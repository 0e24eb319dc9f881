package metrics_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/metrics"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// The tests below run the scripts on real OpenSSH sshd nodes (skipped when
// sshd is missing, unless DPROC_REQUIRE_SSHD=1).

func newSSH(t *testing.T, n int) (*sshtest.Cluster, *sshtransport.Transport) {
	t.Helper()
	c := sshtest.StartCluster(t, n, nil)
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile(), NoAgent: true})
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return c, tr
}

func TestStatusSSH(t *testing.T) {
	c, tr := newSSH(t, 2)
	hosts := append(c.Hosts(), "dproc-no-such-host.invalid")
	got := metrics.Status(context.Background(), tr, hosts, nil)
	require.Len(t, got, 3)
	for _, st := range got[:2] {
		require.NoError(t, st.Err, st.Host)
		assert.NotEmpty(t, st.Hostname)
		assert.GreaterOrEqual(t, st.CPUs, 1)
		assert.Positive(t, st.MemTotal)
		assert.NotEmpty(t, st.Filesystems)
	}
	assert.Error(t, got[2].Err)
	assert.Empty(t, got[2].Hostname)
}

// TestSamplerSSHRestart kills one node (sshd and its sessions, like a
// reboot) while sampling: the node's sessions drop, the callback gets a
// gap, the other node goes on, and sampling of the first node resumes once
// it is back.
func TestSamplerSSHRestart(t *testing.T) {
	c, tr := newSSH(t, 2)
	hosts := c.Hosts()
	s, err := metrics.NewSampler(tr, hosts, &metrics.SamplerOptions{
		Interval: 50 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var restart sync.WaitGroup
	var restartErr error
	measured := map[string]int{}
	var gaps []error
	afterGap := 0
	err = s.Run(ctx, func(smp metrics.Sample) {
		if smp.Err != nil {
			require.Equal(t, hosts[0], smp.Host, "only the restarted node has gaps: %v", smp.Err)
			gaps = append(gaps, smp.Err)
			return
		}
		assert.GreaterOrEqual(t, smp.CPU, 0.0)
		assert.LessOrEqual(t, smp.CPU, 100.0)
		measured[smp.Host]++
		if smp.Host == hosts[0] && len(gaps) > 0 {
			afterGap++
		}
		if smp.Host == hosts[0] && measured[smp.Host] == 2 {
			restart.Go(func() { restartErr = c.Node(1).Restart() })
		}
		if afterGap >= 2 && measured[hosts[1]] >= 4 {
			cancel()
		}
	})
	restart.Wait()
	require.NoError(t, restartErr)
	require.ErrorIs(t, err, context.Canceled, "the run must end by cancel, not by the 60 s timeout")
	require.NotEmpty(t, gaps)
	// Depending on which process dies first, the session is lost or its
	// shell is reported killed by SIGKILL.
	assert.True(t, transport.IsLost(gaps[0]) || errors.Is(gaps[0], transport.ErrFailed), "first gap: %v", gaps[0])
	assert.GreaterOrEqual(t, afterGap, 2)
}
