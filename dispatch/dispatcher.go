package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"dproc/gather"
	"dproc/internal/hostlist"
	"dproc/split"
	"dproc/transport"
)

// Dispatcher runs jobs over a set of hosts reached through one Transport:
// the hosts given to New, changed by [Dispatcher.AddHosts] and
// [Dispatcher.RetireHost] at any time, also while runs go on. It holds no
// other state between runs and is safe for concurrent use: several Runs may
// share it (and its Transport's connections), each with its own
// [RunOptions].
type Dispatcher struct {
	t    transport.Transport
	opts Options

	mu    sync.Mutex
	hosts []string
	slots []int
	runs  map[*run]struct{} // runs going on, which get every host change
}

// New returns a Dispatcher for hosts over t. hosts must be non-empty (else
// the error matches [ErrNoHosts]) and hold no empty or repeated names. opts may
// be nil. A nil t or an invalid option is an error wrapping [ErrInvalid].
func New(t transport.Transport, hosts []string, opts *Options) (*Dispatcher, error) {
	if t == nil {
		return nil, fmt.Errorf("dispatch: %w: nil transport", ErrInvalid)
	}
	if err := hostlist.Check(hosts); err != nil {
		if _, ok := errors.AsType[*hostlist.RepeatedError](err); ok {
			return nil, fmt.Errorf("dispatch: %w (use Options.HostSlots to give a host more slots)", err)
		}
		return nil, fmt.Errorf("dispatch: %w", err)
	}
	d := &Dispatcher{t: t, hosts: append([]string(nil), hosts...), runs: map[*run]struct{}{}}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.Slots < 0 {
		return nil, fmt.Errorf("dispatch: %w: Slots %d < 0", ErrInvalid, d.opts.Slots)
	}
	if d.opts.Slots == 0 {
		d.opts.Slots = defaultSlots
	}
	if d.opts.ProbeInterval <= 0 {
		d.opts.ProbeInterval = defaultProbeInterval
	}
	if d.opts.ProbeTimeout <= 0 {
		d.opts.ProbeTimeout = defaultProbeTimeout
	}
	if d.opts.MaxLost <= 0 {
		d.opts.MaxLost = len(hosts) + 2
	}
	if d.opts.TimeoutFallback == 0 {
		d.opts.TimeoutFallback = defaultFallback
	}
	if d.opts.TimeoutFloor == 0 {
		d.opts.TimeoutFloor = defaultFloor
	}
	if d.opts.Stall.Factor == 0 {
		d.opts.Stall.Factor = defaultStallFactor
	}
	if d.opts.Stall.Floor == 0 {
		d.opts.Stall.Floor = defaultStallFloor
	}
	if d.opts.Stall.Answer == 0 {
		d.opts.Stall.Answer = min(defaultStallAnswer, d.opts.Stall.Floor)
	}
	if d.opts.Stall.Factor < 0 || d.opts.Stall.Floor < 0 || d.opts.Stall.Answer < 0 {
		return nil, fmt.Errorf("dispatch: %w: negative Stall.Factor, Stall.Floor or Stall.Answer", ErrInvalid)
	}
	if d.opts.Retries < 0 || d.opts.Timeout < 0 || d.opts.TimeoutFactor < 0 || d.opts.Speculate < 0 || d.opts.TimeoutFallback < 0 || d.opts.TimeoutFloor < 0 ||
		d.opts.Halt.Share < 0 || d.opts.Halt.Share > 1 {
		return nil, fmt.Errorf("dispatch: %w: negative Retries, Timeout, TimeoutFactor, TimeoutFallback, TimeoutFloor or Speculate, or Halt.Share outside [0, 1]", ErrInvalid)
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		seen[h] = true
		n := d.opts.HostSlots[h]
		if n < 0 {
			return nil, fmt.Errorf("dispatch: %w: host %q has %d slots", ErrInvalid, h, n)
		}
		if n == 0 {
			n = d.opts.Slots
		}
		d.slots = append(d.slots, n)
	}
	for h := range d.opts.HostSlots {
		if !seen[h] {
			return nil, fmt.Errorf("dispatch: %w: HostSlots names host %q, which is not in the host list", ErrInvalid, h)
		}
	}
	return d, nil
}

// Hosts returns the hosts the Dispatcher runs on now: those given to New
// and added since, less those retired.
func (d *Dispatcher) Hosts() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.hosts...)
}

// Slots returns the total number of slots over all hosts: how many chunks
// run at once when every host is up.
func (d *Dispatcher) Slots() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.slots {
		n += s
	}
	return n
}

// Run splits the input with s, runs job on every chunk across the hosts,
// and hands each chunk's output to g, then closes g with the run's outcome:
// g publishes its result only when every chunk succeeded. opts holds the
// run's own settings (events, standard error, journal) and may be nil.
//
// Each host runs up to its slot count of chunks at once; a slot that frees
// up pulls the next chunk, so faster hosts do more. An attempt whose host is
// lost (see [transport.ErrLost]) is discarded and its chunk runs again on
// another host, re-read from the input; the host is marked down and probed
// until it answers. An attempt that times out is lost too if its host then
// fails a probe, and failed otherwise. A worker that exits non-zero is
// retried only within Options.Retries, and otherwise fails its chunk: by
// default the run then stops and returns a [*ChunkError] naming the chunk,
// the host, the command, the exit status and the tail of standard error. A
// host that refuses (see the package doc) stops the run with its error.
//
// Cancelling ctx stops every worker and returns an error for which
// errors.Is(err, ctx.Err()) holds. Run always returns a Report, describing
// what happened up to the point it stopped.
func (d *Dispatcher) Run(ctx context.Context, job *Job, s split.Splitter, g gather.Gatherer, opts *RunOptions) (*Report, error) {
	start := time.Now()
	var ro RunOptions
	if opts != nil {
		ro = *opts
	}
	r := d.newRun(job, g, ro)
	defer d.unregister(r)
	if err := validateJob(job); err != nil {
		return r.report(start), g.Close(0, err)
	}
	if dir := ro.Journal; dir != "" {
		j, err := openJournal(dir, r.job, ro.Resume)
		if err != nil {
			return r.report(start), g.Close(0, fmt.Errorf("dispatch: %w", err))
		}
		defer j.close()
		r.journal = j
	} else if ro.Resume {
		return r.report(start), g.Close(0, fmt.Errorf("dispatch: %w: Resume needs a Journal", ErrInvalid))
	}
	var cancel context.CancelFunc
	r.ctx, cancel = context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel

	err := r.loop(s)
	rep := r.report(start)
	return rep, g.Close(r.nchunks, err)
}

// RunFile is the common case in one call: it runs job over the file at
// inPath and writes the outputs, in chunk order, to the file at outPath,
// which appears (atomically, by rename) only when every chunk succeeded.
//
// inPath is opened with [split.OpenInput]: a regular file is read in place
// and cut into line-aligned blocks of [split.BlockSizeFor] its size and the
// Dispatcher's slots (about one chunk per slot); a pipe, a FIFO or "-"
// (standard input) is streamed in blocks of [split.DefaultStreamBlockSize].
// outPath is written with [gather.File], which checks it before any work
// starts and removes its temporary file on every failure. For other
// splitters or gatherers (a chunk count, a directory of results, a merge),
// use [Dispatcher.Run] with the split and gather packages.
func (d *Dispatcher) RunFile(ctx context.Context, job *Job, inPath, outPath string, opts *RunOptions) (*Report, error) {
	g, err := gather.File(outPath, nil)
	if err != nil {
		return &Report{}, fmt.Errorf("dispatch: output: %w", err)
	}
	in, err := split.OpenInput(inPath, nil)
	if err != nil {
		err = fmt.Errorf("dispatch: input: %w", err)
		return &Report{}, g.Close(0, err)
	}
	defer in.Close()
	block := int64(0) // the stream default
	if !in.Streamed() {
		block = split.BlockSizeFor(in.Size(), d.Slots())
	}
	return d.Run(ctx, job, in.Blocks(block), g, opts)
}

func validateJob(job *Job) error {
	if job == nil {
		return fmt.Errorf("dispatch: %w: nil job", ErrInvalid)
	}
	c := job.command()
	if err := c.Validate(); err != nil {
		return fmt.Errorf("dispatch: job command: %w", err)
	}
	switch job.Mode {
	case Stream:
	case Files:
		if !strings.Contains(c.String(), "{in}") {
			return fmt.Errorf("dispatch: %w: a Files job's command must name its input as {in}", ErrInvalid)
		}
	default:
		return fmt.Errorf("dispatch: %w: unknown mode %d", ErrInvalid, job.Mode)
	}
	return nil
}
