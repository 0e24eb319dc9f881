package metrics_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/metrics"
	"dproc/transport"
	"dproc/transport/localtransport"
)

// The tests below run the scripts for real against this machine's /proc
// and df, through localtransport, and check only that the figures are
// sane.

func newLocal(t *testing.T, hosts ...string) *localtransport.Transport {
	t.Helper()
	tr, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: hosts})
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestStatusLocal(t *testing.T) {
	hosts := []string{"local1", "local2"}
	tr := newLocal(t, hosts...)
	got := metrics.Status(context.Background(), tr, hosts, nil)
	require.Len(t, got, 2)
	for i, st := range got {
		require.NoError(t, st.Err, st.Host)
		assert.Equal(t, hosts[i], st.Host)
		assert.NotEmpty(t, st.Hostname)
		assert.Contains(t, st.Kernel, "Linux")
		assert.Positive(t, st.Uptime)
		assert.GreaterOrEqual(t, st.Load1, 0.0)
		assert.GreaterOrEqual(t, st.CPUs, 1)
		assert.Positive(t, st.MemTotal)
		assert.LessOrEqual(t, st.MemAvailable, st.MemTotal)
		assert.LessOrEqual(t, st.SwapFree, st.SwapTotal)
		require.NotEmpty(t, st.Filesystems)
		for _, fs := range st.Filesystems {
			assert.NotEmpty(t, fs.Mount)
			assert.LessOrEqual(t, fs.Used, fs.Size, fs.Mount)
		}
	}
	var b bytes.Buffer
	require.NoError(t, metrics.WriteStatusTable(&b, got))
	assert.Contains(t, b.String(), "local2")
}

func TestSamplerLocal(t *testing.T) {
	hosts := []string{"local1", "local2"}
	tr := newLocal(t, hosts...)
	s, err := metrics.NewSampler(tr, hosts, &metrics.SamplerOptions{Interval: 50 * time.Millisecond, Count: 2})
	require.NoError(t, err)
	var b bytes.Buffer
	w := metrics.NewCSVWriter(&b)
	n := map[string]int{}
	err = s.Run(context.Background(), func(smp metrics.Sample) {
		require.NoError(t, smp.Err)
		n[smp.Host]++
		for _, pct := range []float64{smp.CPU, smp.Memory, smp.IO} {
			assert.GreaterOrEqual(t, pct, 0.0)
			assert.LessOrEqual(t, pct, 100.0)
		}
		assert.Positive(t, smp.Memory)
		assert.GreaterOrEqual(t, smp.ReadBps, 0.0)
		assert.GreaterOrEqual(t, smp.WriteBps, 0.0)
		require.NoError(t, w.Write(smp))
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"local1": 2, "local2": 2}, n)
	assert.Equal(t, 5, bytes.Count(b.Bytes(), []byte("\n")), "header and four rows")
}

// firstWrite is a Transport that closes started when a command first
// writes to its standard output.
type firstWrite struct {
	transport.Transport
	once    sync.Once
	started chan struct{}
}

func (f *firstWrite) Run(ctx context.Context, host string, cmd *transport.Command) error {
	c := *cmd
	c.Stdout = writerFunc(func(p []byte) (int, error) {
		f.once.Do(func() { close(f.started) })
		return cmd.Stdout.Write(p)
	})
	return f.Transport.Run(ctx, host, &c)
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

func TestSamplerLocalCancel(t *testing.T) {
	tr := &firstWrite{Transport: newLocal(t, "local1"), started: make(chan struct{})}
	// A long interval: the session is asleep on the host when ctx ends,
	// and must still stop at once (goleak checks that nothing is left).
	s, err := metrics.NewSampler(tr, []string{"local1"}, &metrics.SamplerOptions{Interval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-tr.started
		cancel()
	}()
	require.ErrorIs(t, s.Run(ctx, func(smp metrics.Sample) { t.Errorf("unexpected sample %+v", smp) }), context.Canceled)
}
