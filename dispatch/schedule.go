package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"dproc/gather"
	"dproc/internal/iox"
	"dproc/split"
	"dproc/transport"
)

// This file holds the scheduler: one goroutine per run that owns every
// piece of the run's state (hosts, tasks, attempts, the report) and hands
// chunks to free slots. Slot goroutines (attempt.go) run attempts and send
// them back; probe goroutines (probe.go) send host verdicts back; the
// policy (policy.go) decides what each finished attempt means.

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
	suspect     bool // an attempt of the host went silent or stalled, and its probe has not answered yet
	unanswered  bool // that probe has not answered within Stall.Answer
	retired     bool // retired from the run (Dispatcher.RetireHost): it takes no new chunk
	bucket, pos int  // where the host is in run.ready (bucket 0: not there)
	idle        []*slot
	rep         HostReport
	clock       busyClock // the host's Busy and SlotTime
}

// slot is one of a host's slots; an attempt holds it while it runs, on a
// goroutine of its own.
type slot struct {
	host *hostState
}

// task is one chunk's progress through the run.
type task struct {
	chunk    split.Chunk
	attempts int
	running  []*attempt
	lost     []error
	failures int
	tried    map[string]bool // hosts an attempt failed or was lost on; nil until one was
	done     bool            // committed, or failed for good: no attempt of it counts any more
	queued   bool            // in run.pending
	replay   bool            // the journal has the chunk's output: no worker runs
}

// try records that an attempt at t failed or was lost on host.
func (t *task) try(host string) {
	if t.tried == nil {
		t.tried = make(map[string]bool)
	}
	t.tried[host] = true
}

type hostResult struct {
	h     *hostState
	err   error
	phase string // "setup" or "probe"
}

// plan is the Job of a run made ready: the Job, and the transport command
// its fields describe (without streams; each attempt sets its own).
type plan struct {
	*Job
	Command transport.Command
}

type run struct {
	d      *Dispatcher
	job    plan
	opts   RunOptions
	g      gather.Gatherer
	ctx    context.Context
	cancel context.CancelFunc
	id     string

	hosts   []*hostState
	byName  map[string]*hostState
	results chan *attempt
	hostCh  chan hostResult
	wg      sync.WaitGroup
	stderr  io.Writer // the run's RunOptions.Stderr, serialized; nil drops it
	journal *journal

	// Host changes (Dispatcher.AddHosts, RetireHost) made while the run
	// goes on: queued under changeMu, announced on changed.
	changeMu sync.Mutex
	changes  []hostChange
	changed  chan struct{}

	pending   []*task
	nchunks   int
	open      int                   // tasks not done
	live      map[*attempt]struct{} // attempts running
	ready     readyIndex            // hosts that can take a chunk now
	splitDone bool
	failed    []*ChunkError
	durations medians // successful attempts' durations
	silences  medians // successful attempts' longest silences (see Stall)
	err       error
	rep       Report
	clock     busyClock // the run's Busy and SlotTime, over all hosts
}

func (d *Dispatcher) newRun(job *Job, g gather.Gatherer, opts RunOptions) *run {
	var id [6]byte
	_, _ = rand.Read(id[:])
	r := &run{
		d: d, g: g, opts: opts, id: hex.EncodeToString(id[:]),
		results: make(chan *attempt),
		hostCh:  make(chan hostResult),
		live:    make(map[*attempt]struct{}),
		changed: make(chan struct{}, 1),
	}
	if job != nil {
		r.job = plan{Job: job, Command: job.command()}
	}
	r.rep.Run = r.id
	if opts.Stderr != nil {
		r.stderr = iox.NewLockedWriter(opts.Stderr)
	}
	// The run starts with the Dispatcher's hosts now, and gets every
	// later change: the list is read and the run registered at once.
	d.mu.Lock()
	r.byName = make(map[string]*hostState, len(d.hosts))
	for i, name := range d.hosts {
		r.addHost(name, d.slots[i])
	}
	d.runs[r] = struct{}{}
	d.mu.Unlock()
	return r
}

func (r *run) emit(e Event) {
	if r.opts.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Run = r.id
	r.opts.Events(e)
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
		r.setUp(h)
	}

	var tickC <-chan time.Time
	if every := r.watchInterval(); every > 0 {
		tick := time.NewTicker(every)
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
			t := &task{chunk: c}
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
			r.watch()
		case <-r.changed:
			r.applyChanges()
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
		h.idle = nil
		r.ready.update(h)
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
			a.end()
			r.account(a)
			if t := a.task; !t.done && len(t.running) == 0 {
				t.chunk.Release()
			}
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

// setUp gives a host of the run its idle slots and starts its setup.
func (r *run) setUp(h *hostState) {
	for i := 0; i < h.rep.Slots; i++ {
		h.idle = append(h.idle, &slot{host: h})
	}
	if len(r.job.Setup) == 0 {
		// Nothing to install: the host is ready at once, before any
		// chunk is handed out, and costs no goroutine.
		r.hostResult(hostResult{h: h, phase: "setup"})
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := r.prepare(r.ctx, h.name)
		select {
		case r.hostCh <- hostResult{h: h, err: err, phase: "setup"}:
		case <-r.ctx.Done():
		}
	}()
}

// hasIdle reports whether a host can take a chunk now.
func (r *run) hasIdle() bool { return r.ready.n > 0 }

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

func (r *run) pickHost(t *task, exclude string) *hostState { return r.ready.pick(t, exclude) }

// start begins an attempt at t on one of h's idle slots.
func (r *run) start(t *task, h *hostState, speculative bool) {
	sl := h.idle[len(h.idle)-1]
	h.idle[len(h.idle)-1] = nil
	h.idle = h.idle[:len(h.idle)-1]
	r.ready.update(h)
	t.attempts++
	a := &attempt{task: t, n: t.attempts, slot: sl, state: attemptRunning, start: time.Now()}
	a.prog.begin(nanotime())
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
		h.rep.Speculative++
		r.rep.Speculative++
		r.emit(Event{Kind: ChunkSpeculated, Host: h.name, Chunk: t.chunk.Index, Attempt: a.n})
	}
	if !t.replay { // a journal replay runs nothing and keeps no host busy
		h.clock.begin(a.start)
		r.clock.begin(a.start)
		r.emit(Event{Kind: ChunkStarted, Host: h.name, Chunk: t.chunk.Index, Attempt: a.n})
	}
	r.wg.Add(1)
	go r.runSlot(a)
}

// timeout is the bound of an attempt starting now (0: none).
func (r *run) timeout() time.Duration {
	limit := r.d.opts.Timeout
	f := r.d.opts.TimeoutFactor
	switch {
	case f > 0 && r.durations.len() >= minTimeoutSamples:
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

// median is the median duration of the successful attempts so far.
func (r *run) median() time.Duration { return r.durations.median() }

// speculate starts a second copy of a straggling chunk on an idle host,
// when nothing else waits to run.
func (r *run) speculate() {
	if !r.splitDone || len(r.pending) > 0 || r.durations.len() < minTimeoutSamples {
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

// account removes an ended attempt from the run's books.
func (r *run) account(a *attempt) {
	a.cancel()
	delete(r.live, a)
	t := a.task
	for i, o := range t.running {
		if o == a {
			t.running = append(t.running[:i], t.running[i+1:]...)
			break
		}
	}
	h := a.slot.host
	res := &a.res
	if !t.replay { // a journal replay runs nothing
		now := time.Now()
		h.clock.end(a.start, now)
		r.clock.end(a.start, now)
	}
	h.rep.BytesIn += res.in
	r.rep.BytesIn += res.in
	if a.state == attemptCommitted && res.unread > 0 && t.done {
		h.rep.Unread += res.unread
		r.rep.Unread += res.unread
		r.rep.UnreadChunks = append(r.rep.UnreadChunks, t.chunk.Index)
	}
	if t.done && len(t.running) == 0 {
		t.chunk.Release()
	}
}

func (r *run) report(start time.Time) *Report {
	rep := r.rep
	rep.Chunks = r.nchunks
	rep.Elapsed = time.Since(start)
	rep.Hosts = make([]HostReport, len(r.hosts))
	rep.Busy, rep.SlotTime = r.clock.totals()
	for i, h := range r.hosts {
		rep.Hosts[i] = h.rep
		rep.Hosts[i].Busy, rep.Hosts[i].SlotTime = h.clock.totals()
	}
	rep.UnreadChunks = append([]int(nil), r.rep.UnreadChunks...)
	sort.Ints(rep.UnreadChunks)
	return &rep
}
