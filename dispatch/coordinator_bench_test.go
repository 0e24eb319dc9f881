package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
)

// coordLatency is the simulated run time of one chunk in
// BenchmarkCoordinatorRate: a small task on a real host.
const coordLatency = 10 * time.Millisecond

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCoordinatorRate asks how many chunks one coordinator sustains
// when every chunk takes coordLatency on its host, with one slot per host
// on 10 to 10,000 simulated hosts. It reports:
//
//   - chunks/s: the rate the run reached;
//   - ideal-chunks/s: hosts / coordLatency, the rate if the coordinator
//     cost nothing;
//   - cpu-us/chunk: the process's CPU time (user and system) per chunk
//     during the run, dispatcher and simulated transport together;
//   - transport-cpu-us/chunk: the same for the calls made without a
//     dispatcher (see transportOnly), so the difference is the
//     dispatcher's own CPU per chunk;
//   - cores: CPU time / wall time during the run.
//
// When ideal-chunks/s times cpu-us/chunk exceeds the cores available,
// the coordinator, not the hosts, sets the pace.
func BenchmarkCoordinatorRate(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10_000} {
		chunks := min(max(10*n, 1000), 50_000)
		in := bytes.Repeat([]byte("a\n"), chunks)
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			mt, hosts := scaleCluster(b, n)
			for _, h := range hosts {
				mt.Host(h).SetLatency(coordLatency)
			}
			d, err := dispatch.New(mt, hosts, &dispatch.Options{Slots: 1})
			require.NoError(b, err)
			var wall, cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runtime.GC()
				c0, start := cpuTime(b), time.Now()
				rep, err := d.Run(context.Background(), &dispatch.Job{Args: []string{"cat"}},
					split.Blocks(bytes.NewReader(in), int64(len(in)), 2, nil), gather.Ordered(io.Discard, nil), nil)
				wall += time.Since(start)
				cpu += cpuTime(b) - c0
				require.NoError(b, err)
				require.Equal(b, chunks, rep.Done)
			}
			b.StopTimer()
			var tcpu time.Duration
			for i := 0; i < b.N; i++ {
				runtime.GC()
				c0 := cpuTime(b)
				transportOnly(b, mt, hosts, chunks)
				tcpu += cpuTime(b) - c0
			}
			total := float64(chunks * b.N)
			b.ReportMetric(total/wall.Seconds(), "chunks/s")
			b.ReportMetric(float64(n)/coordLatency.Seconds(), "ideal-chunks/s")
			b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-us/chunk")
			b.ReportMetric(float64(tcpu.Microseconds())/total, "transport-cpu-us/chunk")
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
		})
	}
}
