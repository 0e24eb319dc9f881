package metricstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/metrics"
	"dproc/metrics/metricstest"
	"dproc/transport"
	"dproc/transport/memtransport"
)

func TestInstall(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.AddHost("n1")
	tr.AddHost("n2")
	metricstest.Install(tr)

	st := metrics.Status(context.Background(), tr, []string{"n1", "n2"}, nil)
	require.Len(t, st, 2)
	for _, s := range st {
		require.NoError(t, s.Err)
		assert.Equal(t, s.Host, s.Hostname)
		assert.Equal(t, 4, s.CPUs)
		assert.Equal(t, uint64(8<<30), s.MemTotal)
		assert.Len(t, s.Filesystems, 2)
	}

	s, err := metrics.NewSampler(tr, []string{"n1", "n2"}, &metrics.SamplerOptions{Interval: time.Millisecond, Count: 2})
	require.NoError(t, err)
	n := 0
	require.NoError(t, s.Run(context.Background(), func(smp metrics.Sample) {
		n++
		require.NoError(t, smp.Err)
		assert.InDelta(t, metricstest.CPU, smp.CPU, 1e-9)
		assert.InDelta(t, metricstest.Memory, smp.Memory, 1e-9)
		assert.InDelta(t, metricstest.IO, smp.IO, 1e-9)
		assert.InDelta(t, metricstest.ReadBps, smp.ReadBps, 1e-6)
		assert.InDelta(t, metricstest.WriteBps, smp.WriteBps, 1e-6)
	}))
	assert.Equal(t, 4, n)
}

func TestServeFramesBadInterval(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.AddHost("n1")
	metricstest.Install(tr)
	err := tr.Run(context.Background(), "n1", &transport.Command{
		Shell: metrics.SamplerScript, Env: []string{metrics.IntervalEnv + "=soon"},
	})
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, string(ee.Stderr), "invalid time interval")
}
