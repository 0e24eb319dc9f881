package sshtransport_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// These benchmarks measure what one host costs a coordinator over real
// SSH (docs/coordinator.md quotes them).

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openFDs counts the process's open file descriptors and, of those,
// sockets.
func openFDs(tb testing.TB) (fds, sockets int) {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(tb, err)
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			sockets++
		}
	}
	return len(ents), sockets
}

// heapAndStacks is heap in use plus goroutine stacks, after a GC.
func heapAndStacks() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// signalWriter closes its channel at its first write.
type signalWriter struct {
	once sync.Once
	ch   chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

// BenchmarkCoordinatorSSH measures what one host costs the coordinator
// over real SSH, on one sshd node with OpenSSH's default MaxSessions (10)
// and MaxStartups: with 1, 9, 10 and 30 commands open at once on the host
// (cat, held open on its standard input), it reports the sockets and file
// descriptors the process holds for them, the heap and stacks they hold,
// and, in the handshake case, the client CPU of dialling one connection
// (TCP, key exchange, public key authentication and the first command),
// in the idle case, what a connection holds once its command ended,
// and, in the command case, the client CPU of one command on an open
// connection (8 at a time).
func BenchmarkCoordinatorSSH(b *testing.B) {
	c := sshtest.StartCluster(b, 1, &sshtest.Options{Stock: true})
	for _, sessions := range []int{1, 9, 10, 30} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			var fds, socks, mem float64
			for i := 0; i < b.N; i++ {
				tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile(), NoAgent: true})
				require.NoError(b, err)
				fd0, s0 := openFDs(b)
				m0 := heapAndStacks()
				pipes := make([]*io.PipeWriter, sessions)
				started := make([]*signalWriter, sessions)
				errs := make(chan error, sessions)
				for j := range sessions {
					pr, pw := io.Pipe()
					pipes[j], started[j] = pw, &signalWriter{ch: make(chan struct{})}
					go func() {
						errs <- tr.Run(context.Background(), "node1", &transport.Command{Args: []string{"cat"}, Stdin: pr, Stdout: started[j]})
					}()
					go func() { _, _ = pw.Write([]byte("x\n")) }()
				}
				for _, s := range started {
					<-s.ch
				}
				fd1, s1 := openFDs(b)
				m1 := heapAndStacks()
				fds += float64(fd1 - fd0)
				socks += float64(s1 - s0)
				mem += float64(int64(m1) - int64(m0))
				for _, pw := range pipes {
					require.NoError(b, pw.Close())
				}
				for range sessions {
					require.NoError(b, <-errs)
				}
				require.NoError(b, tr.Close())
			}
			b.ReportMetric(socks/float64(b.N), "sockets")
			b.ReportMetric(fds/float64(b.N), "fds")
			b.ReportMetric(mem/float64(b.N), "B/host")
		})
	}
	b.Run("handshake", func(b *testing.B) {
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile(), NoAgent: true})
			require.NoError(b, err)
			c0 := cpuTime(b)
			require.NoError(b, tr.Run(context.Background(), "node1", &transport.Command{Args: []string{"true"}}))
			cpu += cpuTime(b) - c0
			require.NoError(b, tr.Close())
		}
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "client-cpu-us/dial")
	})
	b.Run("idle", func(b *testing.B) {
		// A connection kept open after its command ended: what an idle
		// host costs.
		var socks, mem float64
		for i := 0; i < b.N; i++ {
			tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile(), NoAgent: true})
			require.NoError(b, err)
			_, s0 := openFDs(b)
			m0 := heapAndStacks()
			require.NoError(b, tr.Run(context.Background(), "node1", &transport.Command{Args: []string{"true"}}))
			_, s1 := openFDs(b)
			m1 := heapAndStacks()
			socks += float64(s1 - s0)
			mem += float64(int64(m1) - int64(m0))
			require.NoError(b, tr.Close())
		}
		b.ReportMetric(socks/float64(b.N), "sockets")
		b.ReportMetric(mem/float64(b.N), "B/host")
	})
	b.Run("command", func(b *testing.B) {
		// Commands on an open connection, 8 at once: what each chunk
		// costs the coordinator besides its bytes.
		tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: c.ConfigFile(), NoAgent: true})
		require.NoError(b, err)
		b.Cleanup(func() { tr.Close() })
		require.NoError(b, tr.Run(context.Background(), "node1", &transport.Command{Args: []string{"true"}}))
		const perIter, workers = 64, 8
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			c0 := cpuTime(b)
			var wg sync.WaitGroup
			errs := make(chan error, perIter)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := w; k < perIter; k += workers {
						errs <- tr.Run(context.Background(), "node1", &transport.Command{Args: []string{"true"}})
					}
				}()
			}
			wg.Wait()
			cpu += cpuTime(b) - c0
			close(errs)
			for err := range errs {
				require.NoError(b, err)
			}
		}
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*perIter), "client-cpu-us/command")
	})
}
