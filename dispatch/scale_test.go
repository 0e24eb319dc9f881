package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/memtransport"
)

// scaleLatency is the simulated latency of every call of the scale
// benchmark: the start of each Run waits this long.
const scaleLatency = 100 * time.Microsecond

// scaleCluster is a memtransport with n hosts, each with scaleLatency.
func scaleCluster(tb testing.TB, n int) (*memtransport.Transport, []string) {
	tb.Helper()
	mt := memtransport.New(nil)
	tb.Cleanup(func() { mt.Close() })
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("sim%05d", i)
		mt.AddHost(hosts[i]).SetLatency(scaleLatency)
	}
	return mt, hosts
}

// BenchmarkScale runs 20,000 two-byte chunks with a copying worker (cat)
// over 10 to 10,000 simulated hosts with one slot each, and reports:
//
//   - ns/chunk: the run's wall time per chunk;
//   - transport-ns/chunk: the wall time per chunk of the same calls made
//     without a dispatcher (one goroutine per host, each running cat on
//     two bytes until the chunks are used up): what the simulated
//     latency and the transport itself cost;
//   - overhead-ns/chunk: the difference, what the dispatcher adds per
//     chunk;
//   - B/idle-host: the memory (heap and goroutine stacks) a run holds per
//     host while every host is set up and idle, waiting for input.
//
// The goal is an overhead per chunk that does not grow with the host count.
func BenchmarkScale(b *testing.B) {
	const chunks = 20_000
	in := bytes.Repeat([]byte("a\n"), chunks)
	for _, n := range []int{10, 100, 1000, 10_000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			mt, hosts := scaleCluster(b, n)
			d, err := dispatch.New(mt, hosts, &dispatch.Options{Slots: 1})
			require.NoError(b, err)
			idle := idleHostBytes(b, d)
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rep, err := d.Run(context.Background(), &dispatch.Job{Args: []string{"cat"}},
					split.Blocks(bytes.NewReader(in), int64(len(in)), 2, nil), gather.Ordered(io.Discard, nil), nil)
				total += time.Since(start)
				require.NoError(b, err)
				require.Equal(b, chunks, rep.Done)
				require.Zero(b, rep.Speculative, "an undisturbed run launches no copy")
			}
			b.StopTimer()
			per := total / time.Duration(b.N)
			var base time.Duration
			for i := 0; i < b.N; i++ {
				base += transportOnly(b, mt, hosts, chunks)
			}
			base /= time.Duration(b.N)
			b.ReportMetric(float64(per.Nanoseconds())/chunks, "ns/chunk")
			b.ReportMetric(float64(base.Nanoseconds())/chunks, "transport-ns/chunk")
			b.ReportMetric(float64((per-base).Nanoseconds())/chunks, "overhead-ns/chunk")
			b.ReportMetric(idle, "B/idle-host")
		})
	}
}

// transportOnly makes the calls of a run of chunks two-byte chunks on
// hosts, without a dispatcher: one goroutine per host, each running cat on
// the next chunk until none is left. It returns the wall time.
func transportOnly(b *testing.B, mt *memtransport.Transport, hosts []string, chunks int) time.Duration {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(hosts))
	start := time.Now()
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(chunks) {
				cmd := transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader("a\n"), Stdout: io.Discard}
				if err := mt.Run(context.Background(), h, &cmd); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		require.NoError(b, err)
	}
	return took
}

// idleHostBytes measures what a run on d holds per host once every host
// is set up and waits for input: heap in use and goroutine stacks, less
// what was in use before the run.
func idleHostBytes(b *testing.B, d *dispatch.Dispatcher) float64 {
	b.Helper()
	inUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	before := inUse()
	ready := make(chan struct{}, len(d.Hosts()))
	release := make(chan struct{})
	s := split.SplitterFunc(func(ctx context.Context, emit func(split.Chunk) error) error {
		<-release // no input until measured
		return nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := d.Run(context.Background(), &dispatch.Job{Args: []string{"cat"}}, s, gather.Ordered(io.Discard, nil),
			&dispatch.RunOptions{Events: func(e dispatch.Event) {
				if e.Kind == dispatch.HostReady {
					ready <- struct{}{}
				}
			}})
		done <- err
	}()
	for range d.Hosts() {
		<-ready
	}
	after := inUse()
	close(release)
	require.NoError(b, <-done)
	return float64(int64(after)-int64(before)) / float64(len(d.Hosts()))
}
