package metrics_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/errdef"
	"dproc/metrics"
	"dproc/metrics/metricstest"
	"dproc/transport"
	"dproc/transport/memtransport"
)

// serveFrames serves metricstest frames as fast as they are read.
func serveFrames(ctx context.Context, p *memtransport.Process) int {
	for i := 0; ctx.Err() == nil; i++ {
		if _, err := io.WriteString(p.Stdout, metricstest.Frame(i)); err != nil {
			return 1
		}
	}
	return 0
}

// fastRestart makes sessions restart at once, so that tests do not wait.
func fastRestart(o *metrics.SamplerOptions) *metrics.SamplerOptions {
	o.Backoff, o.MaxBackoff = time.Microsecond, time.Microsecond
	return o
}

// assertMeasured checks a measurement of a host served by serveFrames:
// frames one second apart whose CPU counters grow by 100 busy and 300 idle
// ticks, with 750 of 1000 kB of memory used, and whose disk vda reads 2048
// and writes 1024 sectors and is busy 500 ms between frames.
func assertMeasured(t *testing.T, s metrics.Sample) {
	t.Helper()
	require.NoError(t, s.Err, s.Host)
	assert.InDelta(t, 25.0, s.CPU, 1e-9)
	assert.InDelta(t, 75.0, s.Memory, 1e-9)
	assert.InDelta(t, 50.0, s.IO, 1e-9)
	assert.InDelta(t, 1<<20, s.ReadBps, 1e-6) // 2048 sectors a second
	assert.InDelta(t, 1<<19, s.WriteBps, 1e-6)
}

// collector gathers the samples of a run by host, checking that the
// callback is never called concurrently nor after Run returned.
type collector struct {
	t       *testing.T
	busy    atomic.Bool
	done    atomic.Bool
	byHost  map[string][]metrics.Sample
	onEvery func(metrics.Sample)
}

func newCollector(t *testing.T) *collector {
	return &collector{t: t, byHost: map[string][]metrics.Sample{}}
}

func (c *collector) add(s metrics.Sample) {
	assert.False(c.t, c.busy.Swap(true), "callback called concurrently")
	defer c.busy.Store(false)
	assert.False(c.t, c.done.Load(), "callback called after Run returned")
	c.byHost[s.Host] = append(c.byHost[s.Host], s)
	if c.onEvery != nil {
		c.onEvery(s)
	}
}

func TestSamplerCount(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	var mu sync.Mutex
	var intervals []string
	tr.Handle(metrics.SamplerScript, func(ctx context.Context, p *memtransport.Process) int {
		mu.Lock()
		intervals = append(intervals, p.Getenv(metrics.IntervalEnv))
		mu.Unlock()
		return serveFrames(ctx, p)
	})
	hosts := []string{"a", "b", "c"}
	for _, h := range hosts {
		tr.AddHost(h)
	}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s, err := metrics.NewSampler(tr, hosts, &metrics.SamplerOptions{
		Interval: 250 * time.Millisecond, Count: 4, Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	c := newCollector(t)
	require.NoError(t, s.Run(context.Background(), c.add))
	c.done.Store(true)
	for _, h := range hosts {
		require.Len(t, c.byHost[h], 4, h)
		for _, smp := range c.byHost[h] {
			assertMeasured(t, smp)
			assert.Equal(t, now, smp.Time)
		}
	}
	assert.Equal(t, []string{"0.25", "0.25", "0.25"}, intervals, "one session per host, interval in seconds")
}

// TestSamplerDropout has host b drop out in different ways after its
// first measurement: the callback gets a gap sample with the reason, b's
// session is started again, and a goes on.
func TestSamplerDropout(t *testing.T) {
	tests := []struct {
		name  string
		drop  func(ctx context.Context, p *memtransport.Process) int // runs after two frames
		check func(t *testing.T, err error)
	}{
		{"host killed", func(ctx context.Context, p *memtransport.Process) int {
			p.Control().Kill()
			<-ctx.Done()
			return 0
		}, func(t *testing.T, err error) {
			assert.True(t, transport.IsLost(err), "%v", err)
			assert.ErrorIs(t, err, memtransport.ErrKilled)
		}},
		{"script fails", func(context.Context, *memtransport.Process) int { return 1 },
			func(t *testing.T, err error) {
				var ee *transport.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, 1, ee.Code)
			}},
		{"script exits", func(context.Context, *memtransport.Process) int { return 0 },
			func(t *testing.T, err error) { assert.ErrorIs(t, err, metrics.ErrSessionEnded) }},
		{"garbage", func(ctx context.Context, p *memtransport.Process) int {
			io.WriteString(p.Stdout, strings.Replace(metricstest.Frame(2), "MemTotal", "MemTotal ", 1))
			<-ctx.Done()
			return 0
		}, func(t *testing.T, err error) {
			var pe *metrics.ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "meminfo", pe.Section)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := memtransport.New(nil)
			defer tr.Close()
			tr.AddHost("a").Handle(metrics.SamplerScript, serveFrames)
			b := tr.AddHost("b")
			var sessions atomic.Int32
			b.Handle(metrics.SamplerScript, func(ctx context.Context, p *memtransport.Process) int {
				if sessions.Add(1) > 1 {
					return serveFrames(ctx, p)
				}
				io.WriteString(p.Stdout, metricstest.Frame(0)+metricstest.Frame(1))
				return tt.drop(ctx, p)
			})
			s, err := metrics.NewSampler(tr, []string{"a", "b"}, fastRestart(&metrics.SamplerOptions{Count: 3}))
			require.NoError(t, err)
			c := newCollector(t)
			c.onEvery = func(s metrics.Sample) {
				if s.Err != nil {
					b.Revive()
				}
			}
			require.NoError(t, s.Run(context.Background(), c.add))
			c.done.Store(true)

			require.Len(t, c.byHost["a"], 3)
			for _, smp := range c.byHost["a"] {
				assertMeasured(t, smp)
			}
			got := c.byHost["b"]
			require.Len(t, got, 4, "measurement, gap, measurement, measurement")
			assertMeasured(t, got[0])
			require.Error(t, got[1].Err)
			tt.check(t, got[1].Err)
			assert.Equal(t, "b", got[1].Host)
			assert.False(t, got[1].Time.IsZero())
			assert.Zero(t, got[1].CPU)
			assertMeasured(t, got[2])
			assertMeasured(t, got[3])
			assert.Equal(t, int32(2), sessions.Load())
		})
	}
}

func TestSamplerHostDown(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.Handle(metrics.SamplerScript, serveFrames)
	tr.AddHost("up")
	tr.AddHost("down").SetDown(true)
	s, err := metrics.NewSampler(tr, []string{"up", "down"}, fastRestart(&metrics.SamplerOptions{}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newCollector(t)
	c.onEvery = func(metrics.Sample) {
		if len(c.byHost["up"]) >= 5 && len(c.byHost["down"]) >= 3 {
			cancel()
		}
	}
	err = s.Run(ctx, c.add)
	c.done.Store(true)
	require.ErrorIs(t, err, context.Canceled)
	require.GreaterOrEqual(t, len(c.byHost["up"]), 5)
	for _, smp := range c.byHost["up"] {
		assertMeasured(t, smp)
	}
	require.GreaterOrEqual(t, len(c.byHost["down"]), 3)
	for _, smp := range c.byHost["down"] {
		assert.True(t, transport.IsLost(smp.Err), "%v", smp.Err)
		assert.ErrorIs(t, smp.Err, memtransport.ErrDown)
	}
}

func TestSamplerStall(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	var sessions atomic.Int32
	tr.AddHost("frozen").Handle(metrics.SamplerScript, func(ctx context.Context, p *memtransport.Process) int {
		sessions.Add(1)
		io.WriteString(p.Stdout, metricstest.Frame(0)+metricstest.Frame(1))
		<-ctx.Done()
		return 0
	})
	s, err := metrics.NewSampler(tr, []string{"frozen"}, fastRestart(&metrics.SamplerOptions{StallTimeout: time.Millisecond}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newCollector(t)
	stalls := 0
	c.onEvery = func(s metrics.Sample) {
		if s.Err != nil {
			stalls++
		}
		if stalls == 2 {
			cancel()
		}
	}
	require.ErrorIs(t, s.Run(ctx, c.add), context.Canceled)
	// The stall timer may fire before or after the session's frames are
	// read, so a session gives 0 or 1 measurements before it is stopped.
	for _, smp := range c.byHost["frozen"] {
		if smp.Err != nil {
			assert.ErrorIs(t, smp.Err, metrics.ErrStalled)
		} else {
			assertMeasured(t, smp)
		}
	}
	assert.Equal(t, 2, stalls)
	assert.Equal(t, int32(2), sessions.Load(), "a stalled session is started again")
}

func TestSamplerCancelledEarly(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.AddHost("a").Handle(metrics.SamplerScript, serveFrames)
	s, err := metrics.NewSampler(tr, []string{"a"}, &metrics.SamplerOptions{Count: 1000})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	err = s.Run(ctx, func(metrics.Sample) { n++ })
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, n)
}

func TestNewSamplerInvalid(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tests := []struct {
		name    string
		tr      transport.Transport
		hosts   []string
		opts    *metrics.SamplerOptions
		noHosts bool
		msg     string // the whole message, when the case pins it
	}{
		{"nil transport", nil, []string{"a"}, nil, false, ""},
		{"no hosts", tr, nil, nil, true, "metrics: invalid argument: no hosts"},
		{"empty host list", tr, []string{}, nil, true, "metrics: invalid argument: no hosts"},
		{"empty host", tr, []string{"a", ""}, nil, false, "metrics: invalid argument: empty host name (hosts[1])"},
		{"repeated host", tr, []string{"a", "a"}, nil, false, `metrics: invalid argument: host "a" listed twice (hosts[0] and hosts[1])`},
		{"negative interval", tr, []string{"a"}, &metrics.SamplerOptions{Interval: -time.Second}, false, ""},
		{"negative count", tr, []string{"a"}, &metrics.SamplerOptions{Count: -1}, false, ""},
		{"negative backoff", tr, []string{"a"}, &metrics.SamplerOptions{Backoff: -1}, false, ""},
		{"negative stall timeout", tr, []string{"a"}, &metrics.SamplerOptions{StallTimeout: -1}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := metrics.NewSampler(tt.tr, tt.hosts, tt.opts)
			require.ErrorIs(t, err, metrics.ErrInvalid)
			assert.ErrorIs(t, err, errdef.ErrInvalid, "the ErrInvalid every dproc package shares")
			assert.Nil(t, s)
			assert.True(t, strings.HasPrefix(err.Error(), "metrics: invalid argument: "), err.Error())
			assert.Equal(t, tt.noHosts, errors.Is(err, metrics.ErrNoHosts), "ErrNoHosts for an empty list only")
			assert.Equal(t, tt.noHosts, errors.Is(err, errdef.ErrNoHosts))
			if tt.msg != "" {
				assert.EqualError(t, err, tt.msg)
			}
		})
	}
	assert.Same(t, errdef.ErrInvalid, metrics.ErrInvalid)
	assert.Same(t, errdef.ErrNoHosts, metrics.ErrNoHosts)
	_, err := metrics.NewSampler(tr, []string{"a"}, nil)
	assert.NoError(t, err)
	assert.False(t, errors.Is(err, metrics.ErrInvalid))
}

func TestSamplerTransportClosed(t *testing.T) {
	tr := memtransport.New(nil)
	tr.AddHost("a").Handle(metrics.SamplerScript, serveFrames)
	s, err := metrics.NewSampler(tr, []string{"a"}, fastRestart(&metrics.SamplerOptions{}))
	require.NoError(t, err)
	var closeOnce sync.Once
	var gaps []error
	err = s.Run(context.Background(), func(smp metrics.Sample) {
		if smp.Err != nil {
			gaps = append(gaps, smp.Err)
			return
		}
		closeOnce.Do(func() { go tr.Close() })
	})
	require.ErrorIs(t, err, transport.ErrClosed)
	require.NotEmpty(t, gaps)
	assert.ErrorIs(t, gaps[len(gaps)-1], transport.ErrClosed)
}
