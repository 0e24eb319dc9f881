package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"dproc/internal/errdef"
	"dproc/internal/hostlist"
	"dproc/metrics/internal/procfs"
	"dproc/transport"
)

// SamplerScript is the POSIX sh script a [Sampler] keeps running on each
// host, as the Shell of a [transport.Command]. Every interval it prints one
// frame: "##dproc uptime" and /proc/uptime, "##dproc stat" and the
// aggregate "cpu " line of /proc/stat, "##dproc meminfo" and /proc/meminfo,
// "##dproc diskstats" and /proc/diskstats, then "##dproc end". The
// interval, in seconds, comes from the environment variable named by
// [IntervalEnv], so the script is the same string on every run and fakes
// can register a handler under it. Fractional intervals need a sleep that
// accepts them (GNU coreutils, BusyBox); POSIX only promises whole seconds.
const SamplerScript = `while :; do
echo '##dproc uptime'; cat /proc/uptime
echo '##dproc stat'; grep '^cpu ' /proc/stat
echo '##dproc meminfo'; cat /proc/meminfo
echo '##dproc diskstats'; cat /proc/diskstats 2>/dev/null
echo '##dproc end'
sleep "$DPROC_INTERVAL" || exit 1
done`

// IntervalEnv names the environment variable that passes the sampling
// interval, in seconds (a decimal number such as "1" or "0.25"), to
// [SamplerScript].
const IntervalEnv = "DPROC_INTERVAL"

// maxFrame bounds the bytes of one frame of [SamplerScript] output.
const maxFrame = 1 << 20

var (
	// ErrInvalid is wrapped by every error about an invalid argument or
	// option: a nil Transport, an empty or repeated host name, a negative
	// option. It is the ErrInvalid of every dproc package (split,
	// gather, ...), one value, so errors.Is with any of them agrees.
	ErrInvalid = errdef.ErrInvalid

	// ErrNoHosts is wrapped by the error of [NewSampler] for an empty
	// host list (which matches [ErrInvalid] too). It is the "no hosts"
	// value of every dproc package.
	ErrNoHosts = errdef.ErrNoHosts

	// ErrSessionEnded is reported (in [Sample.Err]) when a host's sampling
	// session exits by itself, without an error from the transport.
	ErrSessionEnded = errors.New("metrics: sampling session ended")

	// ErrStalled is reported (in [Sample.Err]) when a host's session
	// printed no frame for [SamplerOptions.StallTimeout]; the session is
	// stopped and started again.
	ErrStalled = errors.New("metrics: sampling session stalled")

	// ErrHostDown is matched by the [*HostDownError] of a host whose
	// attempts all kept failing until [SamplerOptions.Count] of them had.
	ErrHostDown = errors.New("metrics: host down")
)

// HostDownError is the error [Sampler.Run] reports for a host that used up
// its failed attempts ([SamplerOptions.Count] of them) before delivering
// Count measurements. errors.Is matches it with [ErrHostDown] and with
// whatever its last failure matches ([transport.ErrLost],
// [transport.ErrUnknownHost], an [*transport.ExitError], [ErrStalled] ...).
// When several hosts are down, Run joins their errors with [errors.Join],
// one line per host.
type HostDownError struct {
	Host     string
	Measured int   // measurements it delivered
	Failed   int   // attempts that failed: each was a gap sample
	Err      error // the last failure
}

func (e *HostDownError) Error() string {
	cause := e.Err.Error()
	// Name the host once: drop it from the transport's error.
	if op, ok := e.Err.(*transport.OpError); ok && op.Host == e.Host {
		c := *op
		c.Host = ""
		cause = c.Error()
	}
	return fmt.Sprintf("host %q down (%d of %d attempts failed): %s", e.Host, e.Failed, e.Failed+e.Measured, cause)
}

// Unwrap returns ErrHostDown and the last failure.
func (e *HostDownError) Unwrap() []error { return []error{ErrHostDown, e.Err} }

// Sample is one measurement of one host over one interval, or, when Err is
// set, the report of a gap: one failed attempt, after which the host's
// session is started again unless the host is done (see
// [SamplerOptions.Count]). In a gap sample only Time, Host and Err are set.
type Sample struct {
	Time     time.Time // when the frame that ends the interval arrived (the local clock)
	Host     string
	CPU      float64 // CPU busy %, over all processors (0-100)
	Memory   float64 // memory used %: (MemTotal-MemAvailable)/MemTotal
	IO       float64 // disk busy %: the busiest disk's share of time with I/O in flight (0-100)
	ReadBps  float64 // bytes read per second, summed over the disks
	WriteBps float64 // bytes written per second, summed over the disks
	Err      error   // why the host's session ended; nil for a measurement
}

// SamplerOptions configures a [Sampler]. A nil *SamplerOptions means all
// defaults.
type SamplerOptions struct {
	// Interval is the time between frames on each host. Zero means 1s.
	Interval time.Duration

	// Count bounds the attempts per host: a host is done once it has
	// delivered Count measurements, or once Count of its attempts have
	// failed (each failure is a gap sample), whichever comes first. So a
	// run with a Count always ends, after at most 2*Count-1 attempts per
	// host, even when a host never answers; a host that ends by failures
	// is reported in Run's error as a [*HostDownError]. Zero means no
	// limit: Run returns when its context ends.
	Count int

	// Backoff is the delay before a session that ended is started again;
	// it doubles after each session that ends without a measurement, up
	// to MaxBackoff, and is reset by a measurement. Zero means 1s.
	Backoff time.Duration

	// MaxBackoff caps Backoff. Zero means 30s.
	MaxBackoff time.Duration

	// StallTimeout is how long a session may go without printing a frame
	// before it is stopped and reported with [ErrStalled] (a host that
	// froze, or a network path that went silent); time spent in the Run
	// callback does not count. Zero means 3*Interval + 10s.
	StallTimeout time.Duration

	// Now returns the time stamped on each sample. Nil means time.Now.
	Now func() time.Time
}

// Sampler measures CPU, memory and disk use on a set of hosts. It keeps one
// long-running session per host, running [SamplerScript], and turns the
// difference between consecutive frames into a [Sample].
//
// # Disks
//
// Disk figures cover the whole physical disks of /proc/diskstats:
// ReadBps and WriteBps are summed over them and IO is the maximum of their
// busy shares, as the busiest disk is what limits the host. Left out are
// loop, ram, zram, floppy (fd), optical (sr) and network block (nbd)
// devices, the device-mapper (dm-N) and software RAID (mdN) devices that
// sit on top of other disks (counting them would count the same I/O
// twice), and partitions (sda1, vdb2, xvda1, nvme0n1p1, mmcblk0p2), whose
// I/O their disk already counts. The kernel counts sectors of 512 bytes,
// whatever a device's real sector size, and so does the Sampler. Rates use
// the host's own clock (/proc/uptime), so network delays do not skew them.
//
// A Sampler is safe for concurrent use; it holds no state between runs.
type Sampler struct {
	t     transport.Transport
	hosts []string
	o     SamplerOptions
	ival  string
}

// NewSampler returns a Sampler for hosts over t. It returns an error
// matching [ErrInvalid] when t is nil, when hosts is empty (the error
// matches [ErrNoHosts] too) or has an empty or repeated name, or when an
// option is negative.
func NewSampler(t transport.Transport, hosts []string, opts *SamplerOptions) (*Sampler, error) {
	if t == nil {
		return nil, invalid("nil Transport")
	}
	var o SamplerOptions
	if opts != nil {
		o = *opts
	}
	if err := hostlist.Check(hosts); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if o.Interval < 0 || o.Count < 0 || o.Backoff < 0 || o.MaxBackoff < 0 || o.StallTimeout < 0 {
		return nil, invalid("negative option")
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	if o.StallTimeout == 0 {
		o.StallTimeout = 3*o.Interval + 10*time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sampler{
		t:     t,
		hosts: append([]string(nil), hosts...),
		o:     o,
		ival:  strconv.FormatFloat(o.Interval.Seconds(), 'f', -1, 64),
	}, nil
}

func invalid(msg string) error {
	return fmt.Errorf("metrics: %w: %s", ErrInvalid, msg)
}

// Run samples every host until each is done (see [SamplerOptions.Count];
// then it returns nil, or the [*HostDownError] of every host that failed
// Count times, joined) or ctx ends (then it stops every session and returns
// an error for which errors.Is(err, ctx.Err()) holds). If the Transport is
// closed, the hosts stop and Run returns an error matching
// [transport.ErrClosed] once the others are done.
//
// fn receives every measurement and every gap. It is never called
// concurrently, and not after Run returns. A host whose session ends (it is
// lost, its command fails, or it stalls) gets a Sample with Err set; its
// session is started again after a backoff while the other hosts go on, and
// its next measurement comes one interval after the new session's first
// frame. A slow fn slows the sessions down rather than piling up samples.
func (s *Sampler) Run(ctx context.Context, fn func(Sample)) error {
	var mu sync.Mutex
	emit := func(smp Sample) {
		mu.Lock()
		defer mu.Unlock()
		fn(smp)
	}
	errs := make([]error, len(s.hosts))
	var wg sync.WaitGroup
	for i, h := range s.hosts {
		wg.Go(func() { errs[i] = s.host(ctx, h, emit) })
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// host runs sessions on host until Count measurements are taken (it
// returns nil), Count attempts failed (it returns a *HostDownError), ctx
// ends (it returns ctx.Err()) or the transport is closed.
func (s *Sampler) host(ctx context.Context, host string, emit func(Sample)) error {
	taken, failed := 0, 0
	backoff := s.o.Backoff
	for {
		n, err := s.session(ctx, host, s.o.Count-taken, emit)
		taken += n
		switch {
		case s.o.Count > 0 && taken >= s.o.Count:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if n > 0 {
			backoff = s.o.Backoff
		}
		emit(Sample{Time: s.o.Now(), Host: host, Err: err})
		failed++
		if errors.Is(err, transport.ErrClosed) {
			return err
		}
		if s.o.Count > 0 && failed >= s.o.Count {
			return &HostDownError{Host: host, Measured: taken, Failed: failed, Err: err}
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		backoff = min(2*backoff, s.o.MaxBackoff)
	}
}

// session runs one session of SamplerScript on host and emits up to limit
// measurements (no limit when limit <= 0). It returns how many it emitted
// and why the session ended; the error is never nil unless the limit was
// reached or ctx ended.
func (s *Sampler) session(ctx context.Context, host string, limit int, emit func(Sample)) (int, error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.t.Run(sctx, host, &transport.Command{
			Shell:  SamplerScript,
			Env:    []string{IntervalEnv + "=" + s.ival},
			Stdout: pw,
		})
		pw.CloseWithError(err) // nil means io.EOF
		done <- err
	}()
	stall := time.AfterFunc(s.o.StallTimeout, func() { cancel(ErrStalled) })
	defer stall.Stop()

	n := 0
	var prev *frame
	r := bufio.NewReader(pr)
	var readErr error
	for {
		f, err := readFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if prev != nil {
			smp := f.since(prev)
			smp.Time, smp.Host = s.o.Now(), host
			stall.Stop() // time spent in fn is not the host's fault
			emit(smp)
			n++
			if limit > 0 && n >= limit {
				break
			}
		}
		stall.Reset(s.o.StallTimeout)
		prev = f
	}
	cancel(nil)
	_, _ = io.Copy(io.Discard, pr) // let Run finish writing
	runErr := <-done
	switch {
	case limit > 0 && n >= limit, ctx.Err() != nil:
		return n, nil
	case errors.Is(context.Cause(sctx), ErrStalled):
		return n, fmt.Errorf("%w after %v", ErrStalled, s.o.StallTimeout)
	case readErr != nil && !errors.Is(readErr, runErr):
		return n, readErr
	case runErr != nil:
		return n, runErr
	default:
		return n, ErrSessionEnded
	}
}

// frame is one frame of SamplerScript output, parsed.
type frame struct {
	uptime time.Duration
	cpu    procfs.CPUTimes
	mem    procfs.Memory
	disks  []procfs.DiskStats // whole disks only
}

// readFrame reads lines up to and including the next "##dproc end" marker
// and parses them. Text before the first marker is skipped. It returns
// io.EOF when r ends between frames.
func readFrame(r *bufio.Reader) (*frame, error) {
	var buf []byte
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil // a long line: keep it, the size check below bounds it
		}
		buf = append(buf, line...)
		if len(buf) > maxFrame {
			return nil, parseErr("frame", "", fmt.Sprintf("frame longer than %d bytes", maxFrame))
		}
		if string(line) == marker+"end\n" {
			return parseFrame(buf)
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				return nil, parseErr("frame", "", "output ended inside a frame")
			}
			return nil, err
		}
	}
}

// parseFrame parses one frame of SamplerScript output.
func parseFrame(b []byte) (*frame, error) {
	f, err := parseFrameSections(b)
	return f, err
}

func parseFrameSections(b []byte) (*frame, error) {
	sec := sections(b)
	for _, name := range []string{"uptime", "stat", "meminfo", "diskstats"} {
		if _, ok := sec[name]; !ok {
			return nil, parseErr(name, "", "section missing from frame")
		}
	}
	var f frame
	var err error
	if f.uptime, err = procfs.ParseUptime(sec["uptime"]); err != nil {
		return nil, err
	}
	if f.cpu, _, err = procfs.ParseStat(sec["stat"]); err != nil {
		return nil, err
	}
	if f.mem, err = procfs.ParseMeminfo(sec["meminfo"]); err != nil {
		return nil, err
	}
	disks, err := procfs.ParseDiskstats(sec["diskstats"])
	if err != nil {
		return nil, err
	}
	for _, d := range disks {
		if procfs.IsWholeDisk(d.Name) {
			f.disks = append(f.disks, d)
		}
	}
	return &f, nil
}

// since returns the measurement over the interval from prev to f. Counters
// that went backwards (a reboot, a disk replaced) count as zero.
func (f *frame) since(prev *frame) Sample {
	s := Sample{CPU: f.cpu.BusyPercent(prev.cpu), Memory: f.mem.UsedPercent()}
	dt := (f.uptime - prev.uptime).Seconds()
	if dt <= 0 {
		return s
	}
	old := make(map[string]procfs.DiskStats, len(prev.disks))
	for _, d := range prev.disks {
		old[d.Name] = d
	}
	var rd, wr uint64
	for _, d := range f.disks {
		p, ok := old[d.Name]
		if !ok {
			continue
		}
		rd += delta(d.ReadSectors, p.ReadSectors)
		wr += delta(d.WriteSectors, p.WriteSectors)
		busy := float64(delta(d.IOTicks, p.IOTicks)) / (dt * 1000) * 100
		s.IO = math.Max(s.IO, math.Min(busy, 100))
	}
	s.ReadBps = float64(rd*procfs.SectorSize) / dt
	s.WriteBps = float64(wr*procfs.SectorSize) / dt
	return s
}

func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}
