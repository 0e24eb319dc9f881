package metrics_test

import (
	"bytes"
	"context"
	"io"
	"strings"
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

func printer(text string) memtransport.Func {
	return func(_ context.Context, p *memtransport.Process) int {
		io.WriteString(p.Stdout, text)
		return 0
	}
}

func TestStatusMem(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.AddHost("ok").Handle(metrics.StatusScript, printer(metricstest.Status("node1")))
	tr.AddHost("down").SetDown(true)
	tr.AddHost("garbled").Handle(metrics.StatusScript, printer(strings.Replace(metricstest.Status("node1"), "MemTotal:", "MemTotal", 1)))
	tr.AddHost("truncated").Handle(metrics.StatusScript, printer(metricstest.Status("node1")[:300]))
	tr.AddHost("failing").Handle(metrics.StatusScript, func(_ context.Context, p *memtransport.Process) int {
		return p.Fail(2, "sh: syntax error")
	})
	tr.AddHost("frozen").Hang(true)
	defer tr.Host("frozen").Hang(false)
	var seen []string
	tr.AddHost("checked").Handle(metrics.StatusScript, func(_ context.Context, p *memtransport.Process) int {
		seen = append(seen, p.Shell)
		io.WriteString(p.Stdout, metricstest.Status("node1"))
		return 0
	})

	hosts := []string{"ok", "down", "garbled", "truncated", "failing", "frozen", "checked"}
	got := metrics.Status(context.Background(), tr, hosts, &metrics.StatusOptions{Timeout: 50 * time.Millisecond, Parallel: 3})
	require.Len(t, got, len(hosts))
	for i, h := range hosts {
		assert.Equal(t, h, got[i].Host)
	}

	ok := got[0]
	require.NoError(t, ok.Err)
	want := metrics.HostStatus{
		Host: "ok", Hostname: "node1", Kernel: "Linux 6.1.0-18-amd64",
		Uptime: 266400*time.Second + 250*time.Millisecond,
		Load1:  0.5, Load5: 0.25, Load15: 0.1, CPUs: 4,
		MemTotal: 8 << 30, MemAvailable: 6 << 30, SwapTotal: 2 << 30, SwapFree: 1536 << 20,
		Filesystems: []metrics.Filesystem{
			{Device: "/dev/sda1", Mount: "/", Size: 100 << 30, Used: 40 << 30, Avail: 60 << 30},
			{Device: "tmpfs", Mount: "/dev/shm", Size: 4 << 30, Avail: 4 << 30},
		},
	}
	assert.Equal(t, want, ok)

	assert.True(t, transport.IsLost(got[1].Err), "down: %v", got[1].Err)
	assert.ErrorIs(t, got[1].Err, memtransport.ErrDown)
	assert.Empty(t, got[1].Hostname)

	var pe *metrics.ParseError
	require.ErrorAs(t, got[2].Err, &pe)
	assert.Equal(t, "meminfo", pe.Section)
	assert.Equal(t, "node1", got[2].Hostname, "fields before the bad section are kept")

	require.ErrorAs(t, got[3].Err, &pe)
	assert.Equal(t, "end", pe.Section)

	var ee *transport.ExitError
	require.ErrorAs(t, got[4].Err, &ee)
	assert.Equal(t, 2, ee.Code)

	assert.ErrorIs(t, got[5].Err, context.DeadlineExceeded)

	require.NoError(t, got[6].Err)
	assert.Equal(t, []string{metrics.StatusScript}, seen, "one round trip, running StatusScript")
}

func TestStatusCancelled(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.Handle(metrics.StatusScript, printer(metricstest.Status("node1")))
	tr.AddHost("a")
	tr.AddHost("b")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := metrics.Status(ctx, tr, []string{"a", "b"}, &metrics.StatusOptions{Parallel: 1})
	require.Len(t, got, 2)
	for _, st := range got {
		assert.ErrorIs(t, st.Err, context.Canceled, st.Host)
	}
	assert.Empty(t, metrics.Status(context.Background(), tr, nil, nil))
}

// A nil Transport is an invalid argument, reported in every host's row
// (Status has no error result of its own).
func TestStatusNilTransport(t *testing.T) {
	got := metrics.Status(context.Background(), nil, []string{"a", "b"}, nil)
	require.Len(t, got, 2)
	for i, h := range []string{"a", "b"} {
		assert.Equal(t, h, got[i].Host)
		require.ErrorIs(t, got[i].Err, metrics.ErrInvalid, h)
		assert.ErrorIs(t, got[i].Err, errdef.ErrInvalid, h)
		assert.Equal(t, "metrics: invalid argument: Status with a nil Transport", got[i].Err.Error())
		assert.Empty(t, got[i].Hostname)
	}
	assert.Empty(t, metrics.Status(context.Background(), nil, nil, nil))
}

func TestWriteStatusTable(t *testing.T) {
	statuses := []metrics.HostStatus{
		{Host: "a", Hostname: "alpha", Kernel: "Linux 6.1", Uptime: 90 * time.Minute, Load1: 1, Load5: 0.5, Load15: 0.25,
			CPUs: 8, MemTotal: 16 << 30, MemAvailable: 4 << 30,
			Filesystems: []metrics.Filesystem{{Device: "/dev/sda1", Mount: "/data\tset", Size: 1 << 40, Used: 1 << 39, Avail: 1 << 39}}},
		{Host: "b", Err: &transport.OpError{Op: "run", Host: "b", Err: transport.Lost(nil)}},
		{Host: "c", Hostname: "gamma", Kernel: "Linux 5.10", CPUs: 1, MemTotal: 1 << 30, MemAvailable: 1 << 30,
			Err: &metrics.ParseError{Section: "df", Msg: "no filesystems\n(is df installed?)"}},
	}
	var b bytes.Buffer
	require.NoError(t, metrics.WriteStatusTable(&b, statuses))
	want := `HOST  HOSTNAME  KERNEL      UPTIME  LOAD 1/5/15     CPUS  MEM USED  MEM TOTAL  SWAP USED  SWAP TOTAL
a     alpha     Linux 6.1   01:30   1.00 0.50 0.25  8     12.0 GiB  16.0 GiB   0 B        0 B
b     -         -           -       -               -     -         -          -          -    error: run on host "b": host lost
c     gamma     Linux 5.10  00:00   0.00 0.00 0.00  1     0 B       1.0 GiB    0 B        0 B  error: metrics: section df: no filesystems (is df installed?)

HOST  MOUNT      DEVICE     SIZE     USED       AVAIL      USE%
a     /data set  /dev/sda1  1.0 TiB  512.0 GiB  512.0 GiB  50%
`
	assert.Equal(t, want, b.String())

	b.Reset()
	require.NoError(t, metrics.WriteStatusTable(&b, nil))
	assert.Equal(t, "HOST  HOSTNAME  KERNEL  UPTIME  LOAD 1/5/15  CPUS  MEM USED  MEM TOTAL  SWAP USED  SWAP TOTAL\n", b.String())
}

func TestStatusOutputTooLong(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.AddHost("chatty").Handle(metrics.StatusScript, printer(strings.Repeat("motd line\n", 500_000)+metricstest.Status("chatty")))
	got := metrics.Status(context.Background(), tr, []string{"chatty"}, nil)
	var pe *metrics.ParseError
	require.ErrorAs(t, got[0].Err, &pe)
	assert.Contains(t, pe.Msg, "output longer than")
}
