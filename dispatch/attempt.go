package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"dproc/gather"
	"dproc/transport"
)

// ErrAttemptTimeout is wrapped by the error of an attempt that ran past
// Options.Timeout, TimeoutFactor or TimeoutFallback. When the probe of its
// host that follows failed, the error wraps [transport.ErrLost] too.
var ErrAttemptTimeout = errors.New("attempt timed out")

// fatalError marks an attempt error that ends the run whatever the policy:
// the input cannot be read or the gatherer cannot keep output.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// slotLoop runs the attempts handed to one slot until its channel closes.
func (r *run) slotLoop(sl *slot) {
	defer r.wg.Done()
	for a := range sl.work {
		r.runAttempt(a)
		r.results <- a
	}
}

func (r *run) runAttempt(a *attempt) {
	host := a.slot.host.name
	idx := a.task.chunk.Index
	out, err := r.g.Output(idx)
	if err != nil {
		a.outcome, a.err = outcomeFatal, fmt.Errorf("gather output for chunk %d: %w", idx, err)
		return
	}
	if a.task.replay {
		e, ok, err := r.journal.lookup(a.task.chunk)
		if err != nil {
			out.Discard()
			a.outcome, a.err = outcomeFatal, err
			return
		}
		if ok {
			a.replayed = true
			err = r.journal.replay(e, out)
			a.dur, a.out = time.Since(a.start), e.outSize
			if err != nil {
				out.Discard()
				a.outcome, a.err = outcomeFatal, err
				return
			}
			r.commit(a, out, nil)
			return
		}
	}
	var dst io.Writer = out
	var rec *recorder
	if r.journal != nil {
		tmp, err := r.journal.tempResult(idx, a.n)
		if err != nil {
			out.Discard()
			a.outcome, a.err = outcomeFatal, fmt.Errorf("journal: %w", err)
			return
		}
		rec = &recorder{f: tmp, h: sha256.New()}
		defer rec.cleanup()
		dst = io.MultiWriter(out, rec)
	}
	w := &countWriter{w: dst}
	probe := r.watchTimeout(a, host)
	if r.job.Mode == Files {
		err = r.runFiles(a, host, w)
	} else {
		err = r.runStream(a, host, w)
	}
	a.probeErr = probe.wait()
	a.dur = time.Since(a.start)
	a.out = w.n
	if err == nil && rec != nil && rec.err != nil {
		err = &fatalError{fmt.Errorf("journal: %w", rec.err)}
	}
	if err == nil && r.job.Mode == Stream {
		if size := a.task.chunk.Size; size > a.in {
			a.unread = size - a.in
			if r.d.opts.RequireFullRead {
				out.Discard()
				a.outcome = outcomeFailed
				a.err = &UnreadError{Host: host, Command: r.job.name(), Read: a.in, Size: size}
				return
			}
		}
	}
	if err == nil {
		r.commit(a, out, rec)
		return
	}
	out.Discard()
	// The transport names the command it ran, which may be a generated
	// wrapper or carry Files-mode temp paths: name the job's command.
	var ee *transport.ExitError
	if errors.As(err, &ee) {
		ee.Command = r.job.name()
	}
	var fe *fatalError
	switch {
	case errors.As(err, &fe):
		a.outcome, a.err = outcomeFatal, fe.err
	case errors.Is(a.ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil:
		// Whether the worker hung or its host did is for the probe
		// that follows to say (see run.timedOut).
		a.outcome = outcomeTimeout
		a.err = &transport.OpError{Op: "run", Host: host,
			Err: fmt.Errorf("command %q: %w after %v", r.job.name(), ErrAttemptTimeout, a.limit)}
	case a.ctx.Err() != nil:
		// Cancelled by the scheduler (another copy won) or with the
		// run; finish decides which.
		a.outcome, a.err = outcomeCancelled, err
	case errors.Is(err, transport.ErrClosed):
		a.outcome, a.err = outcomeFatal, err
	case transport.IsLost(err):
		a.outcome, a.err = outcomeLost, err
	case workerFailed(err):
		a.outcome, a.err = outcomeFailed, err
	default:
		// The host refused the work for a reason that running it
		// elsewhere would only hide: a refused host key, failed
		// authentication, an unknown host name, a file that cannot be
		// written. The run stops with that error.
		a.outcome, a.err = outcomeFatal, err
	}
}

// errNoResult is wrapped by the error of a Files-mode attempt whose worker
// exited 0 without writing its result file: a failure of the worker.
var errNoResult = errors.New("worker wrote no result file")

// workerFailed reports whether err is the worker's own failure (it ran and
// exited non-zero, or wrote no result), which Options.Retries may retry.
func workerFailed(err error) bool {
	var ee *transport.ExitError
	return errors.As(err, &ee) || errors.Is(err, errNoResult)
}

// commit commits an attempt's output and, with a journal, records it.
func (r *run) commit(a *attempt, out gather.Output, rec *recorder) {
	idx := a.task.chunk.Index
	switch cerr := out.Commit(); {
	case cerr == nil:
		a.outcome = outcomeOK
	case errors.Is(cerr, gather.ErrDuplicate):
		a.outcome = outcomeDuplicate
		return
	default:
		a.outcome, a.err = outcomeFatal, fmt.Errorf("committing chunk %d: %w", idx, cerr)
		return
	}
	if rec == nil {
		return
	}
	if err := r.journal.record(a.task.chunk, rec.f, a.out, hex.EncodeToString(rec.h.Sum(nil))); err != nil {
		a.outcome, a.err = outcomeFatal, fmt.Errorf("journal: recording chunk %d: %w", idx, err)
		return
	}
	rec.kept = true
}

// recorder keeps a copy of an attempt's output for the journal.
type recorder struct {
	f    *os.File
	h    hash.Hash
	err  error
	kept bool
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err == nil {
		if _, err := r.f.Write(p); err != nil {
			r.err = err
		}
		r.h.Write(p)
	}
	return len(p), nil
}

func (r *recorder) cleanup() {
	r.f.Close()
	if !r.kept {
		os.Remove(r.f.Name())
	}
}

func (r *run) runStream(a *attempt, host string, out io.Writer) error {
	rc, err := a.task.chunk.Open()
	if err != nil {
		return &fatalError{fmt.Errorf("opening chunk %d: %w", a.task.chunk.Index, err)}
	}
	defer rc.Close()
	in := &countReader{r: rc}
	cmd := r.job.Command
	cmd.Stdin = in
	cmd.Stdout = out
	if r.stderr != nil {
		cmd.Stderr = r.stderr
	}
	err = r.d.t.Run(a.ctx, host, &cmd)
	a.in = in.stop()
	return err
}

// runFiles is the seed's path: upload the chunk, run the worker on the
// file, fetch the result, remove both files.
func (r *run) runFiles(a *attempt, host string, out io.Writer) (err error) {
	idx := a.task.chunk.Index
	rc, err := a.task.chunk.Open()
	if err != nil {
		return &fatalError{fmt.Errorf("opening chunk %d: %w", idx, err)}
	}
	defer rc.Close()
	base := path.Join(".dproc", fmt.Sprintf("%s-%d-%d", r.id, idx, a.n))
	inRel, outRel := base+".in", base+".out"
	dir := r.job.Command.Dir
	inPath, outPath := joinDir(dir, inRel), joinDir(dir, outRel)
	uploaded := false
	defer func() {
		if !uploaded || transport.IsLost(err) {
			// Nothing to remove, or a host that is gone: the files
			// are left in .dproc on it, and the next attempt uses
			// other names.
			return
		}
		// Clean up even when the attempt was cancelled, but never wait
		// long on a host that may be gone.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), 5*time.Second)
		defer cancel()
		_ = transport.Remove(ctx, r.d.t, host, inPath)
		_ = transport.Remove(ctx, r.d.t, host, outPath)
	}()

	in := &countReader{r: rc}
	err = r.d.t.Put(a.ctx, host, inPath, in, 0o600)
	a.in = in.stop()
	if err != nil {
		return err
	}
	uploaded = true
	cmd := substitute(r.job.Command, inRel, outRel)
	usesOut := strings.Contains(r.job.Command.String(), "{out}")
	if !usesOut {
		cmd.Stdout = out
	}
	if r.stderr != nil {
		cmd.Stderr = r.stderr
	}
	if err := r.d.t.Run(a.ctx, host, &cmd); err != nil {
		return err
	}
	if !usesOut {
		return nil
	}
	err = r.d.t.Get(a.ctx, host, outPath, out)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("host %q: command %q exited 0 but %w {out}: %w", host, r.job.name(), errNoResult, err)
	}
	return err
}

// substitute replaces {in} and {out} in c's arguments, or in its Shell line
// with the paths quoted.
func substitute(c transport.Command, in, out string) transport.Command {
	if c.Shell != "" {
		c.Shell = strings.NewReplacer("{in}", transport.Quote(in), "{out}", transport.Quote(out)).Replace(c.Shell)
		return c
	}
	rep := strings.NewReplacer("{in}", in, "{out}", out)
	args := make([]string, len(c.Args))
	for i, s := range c.Args {
		args[i] = rep.Replace(s)
	}
	c.Args = args
	return c
}

func joinDir(dir, p string) string {
	if dir == "" {
		return p
	}
	return path.Join(dir, p)
}

// account removes a finished attempt from the run's books.
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
	if !a.replayed {
		h.rep.Busy += a.dur
	}
	h.rep.BytesIn += a.in
	r.rep.BytesIn += a.in
	if a.outcome == outcomeOK && !a.replayed && a.unread > 0 && t.done {
		h.rep.Unread += a.unread
		r.rep.Unread += a.unread
		r.rep.UnreadChunks = append(r.rep.UnreadChunks, t.chunk.Index)
	}
	if t.done && len(t.running) == 0 {
		t.chunk.Release()
	}
}

// finish applies the run's policy to a finished attempt.
func (r *run) finish(a *attempt) {
	t := a.task
	h := a.slot.host
	idx := t.chunk.Index
	h.idle = append(h.idle, a.slot)
	if a.outcome == outcomeOK && !t.done {
		// Mark done before accounting, so the chunk is released once its
		// last attempt ends.
		t.done = true
	} else if a.outcome == outcomeOK {
		a.outcome = outcomeDuplicate
	}
	r.account(a)
	if r.ctx.Err() != nil && a.outcome != outcomeOK {
		r.fail(r.ctx.Err())
		return
	}
	ev := Event{Host: h.name, Chunk: idx, Attempt: a.n, Duration: a.dur, Err: a.err}
	switch {
	case a.outcome != outcomeOK && (t.done || a.cancelled || a.outcome == outcomeDuplicate || a.outcome == outcomeCancelled):
		ev.Kind = ChunkCancelled
		r.emit(ev)
	case a.outcome == outcomeFatal:
		r.fail(&ChunkError{Chunk: idx, Host: h.name, Attempts: t.attempts, Err: a.err})
	case a.outcome == outcomeOK && a.replayed:
		r.open--
		r.rep.Done++
		r.rep.Resumed++
		r.rep.BytesOut += a.out
		r.emit(Event{Kind: ChunkResumed, Chunk: idx, Attempt: a.n, Bytes: a.out})
	case a.outcome == outcomeOK:
		r.open--
		r.rep.Done++
		h.rep.Tasks++
		h.rep.BytesOut += a.out
		r.rep.BytesOut += a.out
		i := sort.Search(len(r.durations), func(i int) bool { return r.durations[i] >= a.dur })
		r.durations = append(r.durations, 0)
		copy(r.durations[i+1:], r.durations[i:])
		r.durations[i] = a.dur
		for _, o := range t.running {
			o.cancelled = true
			o.cancel()
		}
		ev.Kind, ev.Bytes, ev.Unread = ChunkDone, a.out, a.unread
		r.emit(ev)
	case a.outcome == outcomeTimeout:
		h.rep.Timeouts++
		h.rep.LastErr = a.err
		r.timedOut(h, a)
	case a.outcome == outcomeLost:
		r.lostAttempt(h, a, a.err, true)
	case a.outcome == outcomeFailed:
		r.failedAttempt(h, a, a.err)
	}
	r.checkAllDown()
}

// lostAttempt runs a lost attempt's chunk again elsewhere, unless it was
// lost too often. With down, the host is marked down too.
func (r *run) lostAttempt(h *hostState, a *attempt, err error, down bool) {
	t := a.task
	if t.done {
		return
	}
	h.rep.Lost++
	h.rep.LastErr = err
	t.lost = append(t.lost, err)
	t.tried[h.name] = true
	r.emit(Event{Kind: ChunkLost, Host: h.name, Chunk: t.chunk.Index, Attempt: a.n, Duration: a.dur, Err: err})
	if down {
		r.markDown(h, err)
	}
	if len(t.lost) > r.d.opts.MaxLost {
		r.fail(&LostError{Chunk: t.chunk.Index, Command: r.job.name(), Errs: t.lost})
		return
	}
	if len(t.running) == 0 {
		r.enqueue(t, true)
	}
}

// failedAttempt applies Options.Retries and Options.Halt to an attempt
// that failed: its worker exited non-zero, left its input unread under
// RequireFullRead, or timed out on a host that still answers.
func (r *run) failedAttempt(h *hostState, a *attempt, err error) {
	t := a.task
	if t.done {
		return
	}
	idx := t.chunk.Index
	ev := Event{Host: h.name, Chunk: idx, Attempt: a.n, Duration: a.dur, Err: err}
	h.rep.Failures++
	h.rep.LastErr = err
	t.failures++
	t.tried[h.name] = true
	if len(t.running) > 0 {
		// Another copy still runs; its outcome decides.
		ev.Kind = ChunkRetry
		r.emit(ev)
		return
	}
	if t.failures <= r.d.opts.Retries {
		ev.Kind = ChunkRetry
		r.emit(ev)
		r.enqueue(t, true)
		return
	}
	ce := &ChunkError{Chunk: idx, Host: h.name, Attempts: t.attempts, Err: err}
	ev.Kind, ev.Err = ChunkFailed, ce
	r.emit(ev)
	t.done = true
	t.chunk.Release()
	r.open--
	r.rep.Failed++
	if !r.d.opts.Halt.KeepGoing {
		r.fail(ce)
		return
	}
	r.failed = append(r.failed, ce)
	if share := r.d.opts.Halt.Share; share > 0 && float64(len(r.failed)) > share*float64(r.nchunks) {
		r.fail(r.failedErr(true))
	}
}

// timedOut applies the verdict of the probe of the host of an attempt that
// ran past its limit: a host that answers means the worker hung or was too
// slow, a failure; a host that does not is down, and the attempt is lost.
func (r *run) timedOut(h *hostState, a *attempt) {
	perr := a.probeErr
	switch {
	case perr == nil && h.state != hostDown:
		r.failedAttempt(h, a, a.err)
	case perr == nil:
		// The host went down meanwhile, for another attempt.
		r.lostAttempt(h, a, transport.LostError(a.err), false)
	case unreachable(perr):
		why := r.probeReason(h, perr)
		r.lostAttempt(h, a, transport.LostError(fmt.Errorf("%w; then the host's probe failed: %w", a.err, why)), true)
	default:
		r.fail(r.hostErr(h.name, "probe", perr))
	}
}

// timeoutProbe pings an attempt's host as soon as the attempt's time runs
// out, while the transport stops the worker, so that a host that went
// silent is known down no later than the attempt returns.
type timeoutProbe struct {
	returned chan struct{} // closed when the attempt's transport call returned
	done     chan struct{} // closed when the probe is over, or never started
	err      error
}

func (r *run) watchTimeout(a *attempt, host string) *timeoutProbe {
	if a.limit <= 0 {
		return nil
	}
	p := &timeoutProbe{returned: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		select {
		case <-p.returned:
		case <-a.ctx.Done():
		}
		if !errors.Is(a.ctx.Err(), context.DeadlineExceeded) || r.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.d.opts.ProbeTimeout)
		defer cancel()
		p.err = transport.Ping(ctx, r.d.t, host)
	}()
	return p
}

// wait returns the probe's outcome once the attempt's transport call has
// returned: nil when the attempt did not time out.
func (p *timeoutProbe) wait() error {
	if p == nil {
		return nil
	}
	close(p.returned)
	<-p.done
	return p.err
}

// probeReason is a failed probe's error without the host's name, which the
// attempt's error already gives.
func (r *run) probeReason(h *hostState, err error) error {
	if err == nil {
		return errors.New("the host went down")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v: %w", r.d.opts.ProbeTimeout, context.DeadlineExceeded)
	}
	var oe *transport.OpError
	if errors.As(err, &oe) && oe.Host == h.name {
		return oe.Err
	}
	return err
}

// unreachable reports whether a probe's or a setup's error means the host
// cannot be reached now (it may come back): it is lost, or did not answer
// within Options.ProbeTimeout. Anything else that is not cancellation
// means the host refuses (see the package doc).
func unreachable(err error) bool {
	return transport.IsLost(err) || errors.Is(err, context.DeadlineExceeded)
}

// hostErr gives a setup's or a probe's error on host its context once: the
// phase, and the host's name unless the error already names it.
func (r *run) hostErr(host, phase string, err error) error {
	prefix := phase + ": "
	if strings.HasPrefix(err.Error(), prefix) {
		prefix = ""
	}
	if transport.NamesHost(err, host) {
		return fmt.Errorf("%s%w", prefix, err)
	}
	return fmt.Errorf("host %q: %s%w", host, prefix, err)
}

func (r *run) failedErr(stopped bool) error {
	fc := append([]*ChunkError(nil), r.failed...)
	sort.Slice(fc, func(i, j int) bool { return fc[i].Chunk < fc[j].Chunk })
	return &FailedChunksError{Chunks: fc, Stopped: stopped}
}

// markDown takes h out of scheduling and starts probing it.
func (r *run) markDown(h *hostState, err error) {
	h.rep.LastErr = err
	if h.state == hostDown {
		return
	}
	h.state = hostDown
	h.probeFailed = false
	r.emit(Event{Kind: HostDown, Host: h.name, Chunk: -1, Err: err})
	if !h.probing {
		h.probing = true
		r.wg.Add(1)
		go r.probe(h)
	}
}

// probe pings a down host with backoff until it answers and its setup is
// done again, or the run ends. Every probe's outcome goes to the scheduler.
func (r *run) probe(h *hostState) {
	defer r.wg.Done()
	wait := r.d.opts.ProbeInterval
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-r.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.d.opts.ProbeTimeout)
		phase := "probe"
		err := transport.Ping(ctx, r.d.t, h.name)
		if err == nil {
			phase = "setup"
			err = r.prepare(ctx, h.name)
		}
		cancel()
		select {
		case r.hostCh <- hostResult{h: h, err: err, phase: phase}:
		case <-r.ctx.Done():
			return
		}
		if err == nil {
			return
		}
		wait *= 2
		if wait > maxProbeInterval {
			wait = maxProbeInterval
		}
		timer.Reset(wait)
	}
}

// prepare installs the job's setup files on host with [transport.Setup]:
// content sent only where it differs, modes put right.
func (r *run) prepare(ctx context.Context, host string) error {
	if len(r.job.Setup) == 0 {
		return nil
	}
	return transport.Setup(ctx, r.d.t, []string{host}, r.job.Command.Dir, r.job.Setup, nil)[0].Err
}

func (r *run) hostResult(hr hostResult) {
	h := hr.h
	if hr.err == nil {
		prev := h.state
		h.state, h.probing, h.probeFailed = hostUp, false, false
		kind := HostUp
		if prev == hostStarting {
			kind = HostReady
		}
		r.emit(Event{Kind: kind, Host: h.name, Chunk: -1})
		return
	}
	if r.ctx.Err() != nil {
		return
	}
	err := r.hostErr(h.name, hr.phase, hr.err)
	if !unreachable(hr.err) {
		// Not a host that went away but one that refuses (a changed
		// host key, failed authentication, an unknown host name, a
		// file it cannot write): probing will not change that, and
		// moving its work elsewhere would hide it.
		r.fail(err)
		return
	}
	if h.state == hostStarting {
		r.markDown(h, err)
		return
	}
	h.rep.LastErr = err
	h.probeFailed = true
	r.checkAllDown()
}

// checkAllDown fails the run when every host is down and has failed a probe
// since: no host is left to run the remaining chunks.
func (r *run) checkAllDown() {
	errs := make(map[string]error, len(r.hosts))
	for _, h := range r.hosts {
		if h.state != hostDown || !h.probeFailed {
			return
		}
		errs[h.name] = h.rep.LastErr
	}
	r.fail(&HostsDownError{Hosts: r.d.hosts, Errs: errs})
}

func (r *run) report(start time.Time) *Report {
	rep := r.rep
	rep.Chunks = r.nchunks
	rep.Elapsed = time.Since(start)
	rep.Hosts = make([]HostReport, len(r.hosts))
	for i, h := range r.hosts {
		rep.Hosts[i] = h.rep
	}
	rep.UnreadChunks = append([]int(nil), r.rep.UnreadChunks...)
	sort.Ints(rep.UnreadChunks)
	return &rep
}

// countReader counts what a transport reads of a chunk. Once stopped, it
// reads nothing more, so that a transport that is late to let go of its
// input cannot race with the chunk being closed or released.
type countReader struct {
	mu      sync.Mutex
	r       io.Reader
	n       int64
	stopped bool
}

func (c *countReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, io.ErrClosedPipe
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// stop ends reading and returns the count.
func (c *countReader) stop() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	return c.n
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
