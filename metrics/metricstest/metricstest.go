// Package metricstest serves synthetic /proc data to the scripts of package
// [dproc/metrics] on a [memtransport.Transport], so that programs and tests
// can run a status query or a sampler without real hosts, with known
// figures.
//
// Every host served by [Install] reports the same machine: 4 CPUs, 8 GiB of
// memory with 2 GiB used, 2 GiB of swap with 512 MiB used, two
// filesystems, and, while sampled, CPUs 25% busy, memory 75% used, and one
// disk that reads 1 MiB/s, writes 512 KiB/s and is busy half the time.
package metricstest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"dproc/metrics"
	"dproc/transport/memtransport"
)

// Expected figures of a sample taken from [Frame] output.
const (
	CPU      = 25.0
	Memory   = 75.0
	IO       = 50.0
	ReadBps  = 1 << 20
	WriteBps = 1 << 19
)

// Status returns what [metrics.StatusScript] prints on a host named
// hostname.
func Status(hostname string) string {
	return `##dproc hostname
` + hostname + `
##dproc kernel
Linux 6.1.0-18-amd64
##dproc uptime
266400.25 500000.10
##dproc loadavg
0.50 0.25 0.10 2/180 4242
##dproc cpus
4
##dproc meminfo
MemTotal:        8388608 kB
MemFree:         1048576 kB
MemAvailable:    6291456 kB
SwapTotal:       2097152 kB
SwapFree:        1572864 kB
##dproc df
Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/sda1        104857600 41943040  62914560      40% /
tmpfs              4194304        0   4194304       0% /dev/shm
##dproc end
`
}

// Frame returns the i-th frame of [metrics.SamplerScript] output. Frame i
// is one second (of the host's uptime clock) after frame i-1, and the
// counters between them give the figures of the constants above.
func Frame(i int) string {
	return fmt.Sprintf(`##dproc uptime
%d.00 0.00
##dproc stat
cpu  %d 0 %d %d 0 0 0 0 0 0
##dproc meminfo
MemTotal:        1000000 kB
MemAvailable:     250000 kB
##dproc diskstats
 254       0 vda 0 0 %d 0 0 0 %d 0 0 %d 0
   7       0 loop0 0 0 %d 0 0 0 0 0 0 0 0
##dproc end
`, 1000+i, 100+50*i, 100+50*i, 800+300*i, 2048*i, 1024*i, 500*i, 999*i)
}

// Install registers commands for [metrics.StatusScript] and
// [metrics.SamplerScript] on every host of t. The status command prints
// [Status] with the host's name. The sampler command prints [Frame] 0, 1,
// 2, ... waiting the interval the sampler asked for (in
// [metrics.IntervalEnv]) between frames, as the real script does, until
// its run ends. Commands registered on a host itself take precedence, so a
// test can still give one host other behaviour.
func Install(t *memtransport.Transport) {
	t.Handle(metrics.StatusScript, func(_ context.Context, p *memtransport.Process) int {
		io.WriteString(p.Stdout, Status(p.Host))
		return 0
	})
	t.Handle(metrics.SamplerScript, ServeFrames)
}

// ServeFrames is the command Install registers for
// [metrics.SamplerScript]; use it with [memtransport.Host.Handle] to serve
// frames on one host only.
func ServeFrames(ctx context.Context, p *memtransport.Process) int {
	secs, err := strconv.ParseFloat(p.Getenv(metrics.IntervalEnv), 64)
	if err != nil || secs < 0 {
		return p.Fail(1, "sleep: invalid time interval %q", p.Getenv(metrics.IntervalEnv))
	}
	interval := time.Duration(secs * float64(time.Second))
	for i := 0; ; i++ {
		if _, err := io.WriteString(p.Stdout, Frame(i)); err != nil {
			return 1
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return 1
		case <-t.C:
		}
	}
}
