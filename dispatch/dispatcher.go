package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"dproc/gather"
	"dproc/split"
	"dproc/transport"
)

// Dispatcher runs jobs over a fixed set of hosts reached through one
// Transport. It holds no state between runs and is safe for concurrent use:
// several Runs may share it (and its Transport's connections).
type Dispatcher struct {
	t     transport.Transport
	hosts []string
	slots []int
	opts  Options
}

// New returns a Dispatcher for hosts over t. hosts must be non-empty and
// hold no empty or repeated names. opts may be nil.
func New(t transport.Transport, hosts []string, opts *Options) (*Dispatcher, error) {
	if t == nil {
		return nil, fmt.Errorf("dispatch: %w: nil transport", transport.ErrInvalid)
	}
	if len(hosts) == 0 {
		return nil, ErrNoHosts
	}
	d := &Dispatcher{t: t, hosts: append([]string(nil), hosts...)}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.Slots < 0 {
		return nil, fmt.Errorf("dispatch: %w: Slots %d < 0", transport.ErrInvalid, d.opts.Slots)
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
	if d.opts.Retries < 0 || d.opts.Timeout < 0 || d.opts.TimeoutFactor < 0 || d.opts.Speculate < 0 || d.opts.TimeoutFallback < 0 || d.opts.TimeoutFloor < 0 ||
		d.opts.Halt.Share < 0 || d.opts.Halt.Share > 1 {
		return nil, fmt.Errorf("dispatch: %w: negative Retries, Timeout, TimeoutFactor, TimeoutFallback, TimeoutFloor or Speculate, or Halt.Share outside [0, 1]", transport.ErrInvalid)
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if h == "" {
			return nil, fmt.Errorf("dispatch: %w: empty host name", transport.ErrInvalid)
		}
		if seen[h] {
			return nil, fmt.Errorf("dispatch: %w: host %q listed twice (use Options.HostSlots to give a host more slots)", transport.ErrInvalid, h)
		}
		seen[h] = true
		n := d.opts.HostSlots[h]
		if n < 0 {
			return nil, fmt.Errorf("dispatch: %w: host %q has %d slots", transport.ErrInvalid, h, n)
		}
		if n == 0 {
			n = d.opts.Slots
		}
		d.slots = append(d.slots, n)
	}
	for h := range d.opts.HostSlots {
		if !seen[h] {
			return nil, fmt.Errorf("dispatch: %w: HostSlots names host %q, which is not in the host list", transport.ErrInvalid, h)
		}
	}
	return d, nil
}

// Hosts returns the hosts the Dispatcher runs on.
func (d *Dispatcher) Hosts() []string { return append([]string(nil), d.hosts...) }

// Run splits the input with s, runs job on every chunk across the hosts,
// and hands each chunk's output to g, then closes g with the run's outcome:
// g publishes its result only when every chunk succeeded.
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
func (d *Dispatcher) Run(ctx context.Context, job *Job, s split.Splitter, g gather.Gatherer) (*Report, error) {
	start := time.Now()
	r := d.newRun(job, g)
	if err := validateJob(job); err != nil {
		return r.report(start), g.Close(0, err)
	}
	if dir := r.d.opts.Journal; dir != "" {
		j, err := openJournal(dir, job, r.d.opts.Resume)
		if err != nil {
			return r.report(start), g.Close(0, fmt.Errorf("dispatch: %w", err))
		}
		defer j.close()
		r.journal = j
	} else if r.d.opts.Resume {
		return r.report(start), g.Close(0, fmt.Errorf("dispatch: %w: Resume needs a Journal", transport.ErrInvalid))
	}
	var cancel context.CancelFunc
	r.ctx, cancel = context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel

	err := r.loop(s)
	rep := r.report(start)
	n := r.nchunks
	if err != nil {
		return rep, g.Close(n, err)
	}
	return rep, g.Close(n, nil)
}

func validateJob(job *Job) error {
	if job == nil {
		return fmt.Errorf("dispatch: %w: nil job", transport.ErrInvalid)
	}
	if err := job.Command.Validate(); err != nil {
		return fmt.Errorf("dispatch: job command: %w", err)
	}
	c := job.Command
	if c.Stdin != nil || c.Stdout != nil || c.Stderr != nil {
		return fmt.Errorf("dispatch: %w: job command must not set Stdin, Stdout or Stderr", transport.ErrInvalid)
	}
	switch job.Mode {
	case Stream:
	case Files:
		if !strings.Contains(c.String(), "{in}") {
			return fmt.Errorf("dispatch: %w: a Files job's command must name its input as {in}", transport.ErrInvalid)
		}
	default:
		return fmt.Errorf("dispatch: %w: unknown mode %d", transport.ErrInvalid, job.Mode)
	}
	return nil
}

// Host states.
const (
	hostStarting = iota
	hostUp
	hostDown
)

type hostState struct {
	name        string
	state       int
	probing     bool
	probeFailed bool // a probe failed since the host last went down
	idle        []*slot
	rep         HostReport
}

type slot struct {
	host *hostState
	work chan *attempt
}

type task struct {
	chunk    split.Chunk
	attempts int
	running  []*attempt
	lost     []error
	failures int
	tried    map[string]bool
	done     bool
	queued   bool
	replay   bool // the journal has the chunk's output: no worker runs
}

// attempt outcomes, decided by the slot goroutine.
const (
	outcomeOK = iota
	outcomeLost
	outcomeFailed
	outcomeFatal     // the run cannot go on (unreadable input, gatherer failure)
	outcomeDuplicate // another copy committed first
	outcomeCancelled // its context was cancelled: another copy won, or the run ends
	outcomeTimeout   // ran past its limit: a probe of its host decides lost or failed
)

type attempt struct {
	task        *task
	n           int
	slot        *slot
	ctx         context.Context
	cancel      context.CancelFunc
	limit       time.Duration
	speculative bool
	replayed    bool // the output came from the journal; nothing ran
	cancelled   bool // cancelled by the scheduler (a copy won)
	start       time.Time

	// Set by the slot goroutine.
	outcome int
	err     error
	dur     time.Duration
	in, out int64
	unread  int64 // bytes of the chunk the worker did not take (Stream mode)
	// probeErr is, for a timed-out attempt, the outcome of the probe of
	// its host started when the time ran out.
	probeErr error
}

type hostResult struct {
	h     *hostState
	err   error
	phase string // "setup" or "probe"
}

type run struct {
	d      *Dispatcher
	job    *Job
	g      gather.Gatherer
	ctx    context.Context
	cancel context.CancelFunc
	id     string

	hosts   []*hostState
	byName  map[string]*hostState
	results chan *attempt
	hostCh  chan hostResult
	wg      sync.WaitGroup
	stderr  *lockedWriter
	journal *journal

	pending   []*task
	nchunks   int
	open      int                   // tasks not done
	live      map[*attempt]struct{} // attempts running
	splitDone bool
	failed    []*ChunkError
	durations []time.Duration // successful attempt durations, sorted
	err       error
	rep       Report
}

func (d *Dispatcher) newRun(job *Job, g gather.Gatherer) *run {
	var id [6]byte
	_, _ = rand.Read(id[:])
	r := &run{
		d: d, job: job, g: g, id: hex.EncodeToString(id[:]),
		byName:  make(map[string]*hostState, len(d.hosts)),
		results: make(chan *attempt),
		hostCh:  make(chan hostResult),
		live:    make(map[*attempt]struct{}),
	}
	if d.opts.Stderr != nil {
		r.stderr = &lockedWriter{w: d.opts.Stderr}
	}
	for i, name := range d.hosts {
		h := &hostState{name: name, rep: HostReport{Host: name, Slots: d.slots[i]}}
		r.hosts = append(r.hosts, h)
		r.byName[name] = h
	}
	return r
}

func (r *run) emit(e Event) {
	if r.d.opts.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.d.opts.Events(e)
}

// fail records the run's first fatal error and stops everything.
func (r *run) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.cancel()
}

func (r *run) loop(s split.Splitter) error {
	// The splitter feeds chunks one at a time, only when a slot can take
	// one: that bounds what a streaming splitter holds in memory.
	chunks := make(chan split.Chunk)
	splitErr := make(chan error, 1)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		splitErr <- s.Split(r.ctx, func(c split.Chunk) error {
			select {
			case chunks <- c:
				return nil
			case <-r.ctx.Done():
				c.Release()
				return r.ctx.Err()
			}
		})
	}()

	for _, h := range r.hosts {
		for i := 0; i < h.rep.Slots; i++ {
			sl := &slot{host: h, work: make(chan *attempt, 1)}
			r.wg.Add(1)
			go r.slotLoop(sl)
			h.idle = append(h.idle, sl)
		}
		r.wg.Add(1)
		go func(h *hostState) {
			defer r.wg.Done()
			err := r.prepare(r.ctx, h.name)
			select {
			case r.hostCh <- hostResult{h: h, err: err, phase: "setup"}:
			case <-r.ctx.Done():
			}
		}(h)
	}

	var tick *time.Ticker
	var tickC <-chan time.Time
	if r.d.opts.Speculate > 0 {
		tick = time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		tickC = tick.C
	}

	for r.err == nil {
		r.assign()
		if r.splitDone && r.open == 0 && len(r.live) == 0 {
			break
		}
		var in <-chan split.Chunk
		if !r.splitDone && len(r.pending) == 0 && r.hasIdle() {
			in = chunks
		}
		select {
		case c := <-in:
			r.nchunks++
			r.open++
			t := &task{chunk: c, tried: map[string]bool{}}
			t.replay = r.journal != nil && r.journal.has(c.Index)
			r.enqueue(t, false)
		case err := <-splitErr:
			r.splitDone = true
			if err != nil {
				r.fail(fmt.Errorf("dispatch: reading input: %w", err))
			}
		case a := <-r.results:
			r.finish(a)
		case hr := <-r.hostCh:
			r.hostResult(hr)
		case <-tickC:
			r.speculate()
		case <-r.ctx.Done():
			r.fail(r.ctx.Err())
		}
	}
	if r.err == nil && r.d.opts.Halt.KeepGoing && len(r.failed) > 0 {
		r.err = r.failedErr(false)
	}
	r.shutdown(chunks, splitErr)
	return r.err
}

// shutdown stops every goroutine of the run and waits for them, accounting
// for attempts that still report.
func (r *run) shutdown(chunks chan split.Chunk, splitErr chan error) {
	r.cancel()
	for _, h := range r.hosts {
		for _, sl := range h.idle {
			close(sl.work)
		}
		h.idle = nil
	}
	// The run is over for every chunk not yet done: free what they hold
	// (a streaming splitter's spooled copies) once no attempt reads them.
	for _, t := range r.pending {
		t.chunk.Release()
	}
	r.pending = nil
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	for {
		select {
		case a := <-r.results:
			r.account(a)
			if t := a.task; !t.done && len(t.running) == 0 {
				t.chunk.Release()
			}
			close(a.slot.work)
		case <-r.hostCh:
		case c := <-chunks:
			c.Release()
		case <-splitErr:
		case <-done:
			for _, h := range r.hosts {
				h.rep.Down = h.state == hostDown
			}
			return
		}
	}
}

func (r *run) hasIdle() bool {
	for _, h := range r.hosts {
		if h.state == hostUp && len(h.idle) > 0 {
			return true
		}
	}
	return false
}

// enqueue adds t to the pending queue: at the front for a retry, so that
// old work finishes before new work starts.
func (r *run) enqueue(t *task, front bool) {
	if t.queued {
		return
	}
	t.queued = true
	if front {
		r.pending = append([]*task{t}, r.pending...)
	} else {
		r.pending = append(r.pending, t)
	}
}

// assign hands pending tasks to idle slots. A retry goes preferably to a
// host it has not failed on; among candidates, the host with the most idle
// slots is chosen, which spreads chunks over hosts.
func (r *run) assign() {
	for len(r.pending) > 0 {
		t := r.pending[0]
		h := r.pickHost(t, "")
		if h == nil {
			return
		}
		r.pending = r.pending[1:]
		t.queued = false
		r.start(t, h, false)
	}
}

func (r *run) pickHost(t *task, exclude string) *hostState {
	var best *hostState
	bestScore := -1
	for _, h := range r.hosts {
		if h.state != hostUp || len(h.idle) == 0 || h.name == exclude {
			continue
		}
		score := len(h.idle)
		if !t.tried[h.name] {
			score += 1 << 20
		}
		if score > bestScore {
			best, bestScore = h, score
		}
	}
	return best
}

func (r *run) start(t *task, h *hostState, speculative bool) {
	sl := h.idle[len(h.idle)-1]
	h.idle = h.idle[:len(h.idle)-1]
	t.attempts++
	a := &attempt{task: t, n: t.attempts, slot: sl, speculative: speculative, start: time.Now()}
	a.limit = r.timeout()
	if a.limit > 0 {
		a.ctx, a.cancel = context.WithTimeout(r.ctx, a.limit)
	} else {
		a.ctx, a.cancel = context.WithCancel(r.ctx)
	}
	t.running = append(t.running, a)
	r.live[a] = struct{}{}
	if t.attempts > 1 && !speculative {
		h.rep.Retries++
	}
	if speculative {
		r.emit(Event{Kind: ChunkSpeculated, Host: h.name, Chunk: t.chunk.Index, Attempt: a.n})
	}
	if !t.replay {
		r.emit(Event{Kind: ChunkStarted, Host: h.name, Chunk: t.chunk.Index, Attempt: a.n})
	}
	sl.work <- a
}

func (r *run) timeout() time.Duration {
	limit := r.d.opts.Timeout
	f := r.d.opts.TimeoutFactor
	switch {
	case f > 0 && len(r.durations) >= minTimeoutSamples:
		rel := time.Duration(f * float64(r.median()))
		if rel < r.d.opts.TimeoutFloor {
			rel = r.d.opts.TimeoutFloor
		}
		if limit == 0 || rel < limit {
			limit = rel
		}
	case f > 0 && limit == 0:
		// No median yet: without a bound, a run whose every worker
		// hangs would never end.
		limit = r.d.opts.TimeoutFallback
	}
	return limit
}

func (r *run) median() time.Duration {
	if len(r.durations) == 0 {
		return 0
	}
	return r.durations[len(r.durations)/2]
}

// speculate starts a second copy of a straggling chunk on an idle host,
// when nothing else waits to run.
func (r *run) speculate() {
	if !r.splitDone || len(r.pending) > 0 || len(r.durations) < minTimeoutSamples {
		return
	}
	limit := time.Duration(r.d.opts.Speculate * float64(r.median()))
	now := time.Now()
	var stragglers []*attempt
	for a := range r.live {
		if !a.task.done && len(a.task.running) == 1 && now.Sub(a.start) > limit {
			stragglers = append(stragglers, a)
		}
	}
	sort.Slice(stragglers, func(i, j int) bool { return stragglers[i].start.Before(stragglers[j].start) })
	for _, a := range stragglers {
		h := r.pickHost(a.task, a.slot.host.name)
		if h == nil {
			return
		}
		r.start(a.task, h, true)
	}
}
