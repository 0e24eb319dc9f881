package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/metrics"
	"dproc/transport"
	"dproc/transport/memtransport"
)

// TestSamplerCountBoundsFailures checks that a Count bounds the attempts of
// a host that never answers: it fails Count times and Run ends, reporting
// it, while the good hosts deliver their Count measurements.
func TestSamplerCountBoundsFailures(t *testing.T) {
	tests := []struct {
		name  string
		down  []string // hosts that are down for the whole run
		count int
	}{
		{"one host down, count 2", []string{"b"}, 2},
		{"one host down, count 1", []string{"b"}, 1},
		{"two hosts down", []string{"b", "c"}, 3},
		{"no host down", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := memtransport.New(nil)
			defer tr.Close()
			tr.Handle(metrics.SamplerScript, serveFrames)
			hosts := []string{"a", "b", "c"}
			isDown := map[string]bool{}
			for _, h := range hosts {
				tr.AddHost(h)
			}
			for _, h := range tt.down {
				tr.Host(h).SetDown(true)
				isDown[h] = true
			}
			s, err := metrics.NewSampler(tr, hosts, fastRestart(&metrics.SamplerOptions{Count: tt.count}))
			require.NoError(t, err)
			c := newCollector(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = s.Run(ctx, c.add)
			c.done.Store(true)
			require.NoError(t, ctx.Err(), "Run did not end by itself")

			for _, h := range hosts {
				got := c.byHost[h]
				require.Len(t, got, tt.count, "host %s: one sample per attempt", h)
				for _, smp := range got {
					if isDown[h] {
						assert.ErrorIs(t, smp.Err, memtransport.ErrDown)
					} else {
						assertMeasured(t, smp)
					}
				}
			}
			if len(tt.down) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, metrics.ErrHostDown)
			assert.ErrorIs(t, err, memtransport.ErrDown, "the cause is kept")
			assert.True(t, transport.IsLost(err), "%v", err)
			var downs []string
			var joined interface{ Unwrap() []error }
			require.ErrorAs(t, err, &joined)
			for _, e := range joined.Unwrap() {
				var hd *metrics.HostDownError
				require.ErrorAs(t, e, &hd)
				downs = append(downs, hd.Host)
				assert.Equal(t, tt.count, hd.Failed)
				assert.Zero(t, hd.Measured)
				assert.ErrorIs(t, hd.Err, memtransport.ErrDown)
				assert.Contains(t, hd.Error(), `host "`+hd.Host+`" down`)
			}
			assert.Equal(t, tt.down, downs)
		})
	}
}

// TestSamplerRecoveredHostIsNotDown has a host fail fewer than Count times:
// it then delivers its Count measurements and is not reported.
func TestSamplerRecoveredHostIsNotDown(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.Handle(metrics.SamplerScript, serveFrames)
	tr.AddHost("a")
	b := tr.AddHost("b")
	b.SetDown(true)
	s, err := metrics.NewSampler(tr, []string{"a", "b"}, fastRestart(&metrics.SamplerOptions{Count: 3}))
	require.NoError(t, err)
	c := newCollector(t)
	gaps := 0
	c.onEvery = func(smp metrics.Sample) {
		if smp.Err != nil {
			if gaps++; gaps == 2 {
				b.SetDown(false)
			}
		}
	}
	require.NoError(t, s.Run(context.Background(), c.add))
	c.done.Store(true)
	got := c.byHost["b"]
	require.Len(t, got, 5, "two gaps, then three measurements")
	for _, smp := range got[2:] {
		assertMeasured(t, smp)
	}
}

// TestHostDownErrorText checks that the host is named once.
func TestHostDownErrorText(t *testing.T) {
	cause := &transport.OpError{Op: "run", Host: "n3", Err: transport.Lost(errors.New("connection refused"))}
	err := &metrics.HostDownError{Host: "n3", Measured: 1, Failed: 2, Err: cause}
	assert.Equal(t, `host "n3" down (2 of 3 attempts failed): run: host lost: connection refused`, err.Error())
	assert.ErrorIs(t, err, metrics.ErrHostDown)
	assert.ErrorIs(t, err, transport.ErrLost)
	stalled := &metrics.HostDownError{Host: "n3", Failed: 1, Err: metrics.ErrStalled}
	assert.Equal(t, `host "n3" down (1 of 1 attempts failed): metrics: sampling session stalled`, stalled.Error())
}
