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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dproc/gather"
	"dproc/internal/iox"
	"dproc/transport"
)

// This file holds the execution of one attempt, on a slot's goroutine:
// feed the chunk to the worker (Stream mode) or upload it and fetch the
// result (Files mode), keep a copy for the journal, commit or discard the
// output, and classify what happened into the attempt's outcome.

// ErrAttemptTimeout is wrapped by the error of an attempt that ran past
// Options.Timeout, TimeoutFactor or TimeoutFallback. When the probe of its
// host that follows failed, the error wraps [transport.ErrLost] too.
var ErrAttemptTimeout = errors.New("attempt timed out")

// attempt is one try at running a task's chunk on one slot.
type attempt struct {
	task   *task
	n      int // the attempt's number for its chunk, from 1
	slot   *slot
	ctx    context.Context
	cancel context.CancelFunc
	limit  time.Duration // its timeout, 0 for none
	start  time.Time

	// state is owned by the scheduler goroutine (see attemptState).
	state attemptState

	// res is written by the slot goroutine while it runs the attempt,
	// and read by the scheduler once the attempt is back from its slot.
	res attemptResult

	// prog is written by the transport's goroutines as the attempt's
	// bytes move, and read by the scheduler (see Stall).
	prog progress

	// Owned by the scheduler goroutine: the silence at which its host is
	// probed next during its present silence (0: Stall.Answer), whether it
	// is stalled now, and, when the probe that followed its stall failed
	// and the scheduler cancelled it, that probe's error and the silence
	// it had.
	probeAt  time.Duration
	stalled  bool
	hostGone error
	silence  time.Duration
}

// epoch is the origin of progress times: nanoseconds on the monotonic
// clock, so that a step of the wall clock cannot fake a stall.
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

// progress is when an attempt last moved a byte, and the longest silence
// between two such moments so far. Every method is safe for concurrent
// use: the transport moves input and output on goroutines of its own.
type progress struct {
	last    atomic.Int64 // nanotime of the last progress, or of the start
	longest atomic.Int64 // the longest silence between two progress moments
}

func (p *progress) begin(t int64) { p.last.Store(t) }

// tick records progress now.
func (p *progress) tick() {
	now := nanotime()
	gap := now - p.last.Swap(now)
	for {
		old := p.longest.Load()
		if gap <= old || p.longest.CompareAndSwap(old, gap) {
			return
		}
	}
}

// silence is the time since the last progress, at now.
func (p *progress) silence(now int64) time.Duration {
	return time.Duration(now - p.last.Load())
}

// longestSilence is the longest silence of an attempt that ended at now,
// counting the silence from its last progress to its end.
func (p *progress) longestSilence(now int64) time.Duration {
	return max(time.Duration(p.longest.Load()), p.silence(now))
}

// progressReader records progress on every Read that returns bytes.
type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		pr.p.tick()
	}
	return n, err
}

// copyBufs are the buffers of progressReader.WriteTo.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// WriteTo copies the rest of the input to w through a pooled buffer, so
// that a transport that copies the input with io.Copy allocates no
// buffer of its own for every attempt.
func (pr *progressReader) WriteTo(w io.Writer) (int64, error) {
	buf := copyBufs.Get().(*[32 << 10]byte)
	defer copyBufs.Put(buf)
	var total int64
	for {
		n, err := pr.Read(buf[:])
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// attemptResult is what the execution of an attempt reports.
type attemptResult struct {
	outcome attemptState // one of the outcome states, attemptCommitted on
	err     error
	dur     time.Duration
	in, out int64
	unread  int64 // bytes of the chunk the worker did not take (Stream mode)
	// leftover is what the transport measured the worker left unread
	// (transport.Command.Unread), or -1 when it could not tell.
	leftover int64
	// longest is the attempt's longest silence (see progress).
	longest time.Duration
	// probeErr is, for a timed-out attempt, the outcome of the probe of
	// its host started when the time ran out.
	probeErr error
}

// supersede cancels a running attempt whose chunk another copy committed.
func (a *attempt) supersede() {
	if a.state == attemptRunning {
		a.state = attemptSuperseded
	}
	a.cancel()
}

// end moves an attempt its slot returned to the outcome it reported.
func (a *attempt) end() {
	a.state = a.res.outcome
}

// fatalError marks an attempt error that ends the run whatever the policy:
// the input cannot be read or the gatherer cannot keep output.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// runSlot runs an attempt on its slot, on a goroutine of its own, and
// hands it back to the scheduler.
func (r *run) runSlot(a *attempt) {
	defer r.wg.Done()
	r.runAttempt(a, &a.res)
	r.results <- a
}

func (r *run) runAttempt(a *attempt, res *attemptResult) {
	host := a.slot.host.name
	idx := a.task.chunk.Index
	out, err := r.g.Output(idx)
	if err != nil {
		res.outcome, res.err = attemptFatal, fmt.Errorf("gather output for chunk %d: %w", idx, err)
		return
	}
	if a.task.replay {
		e, ok, err := r.journal.lookup(a.task.chunk)
		if err != nil {
			out.Discard()
			res.outcome, res.err = attemptFatal, err
			return
		}
		if ok {
			err = r.journal.replay(e, out)
			if err != nil {
				out.Discard()
				res.outcome, res.err = attemptFatal, err
				return
			}
			res.dur, res.out = time.Since(a.start), e.outSize
			r.commit(a, res, out, nil, attemptResumed)
			return
		}
	}
	var dst io.Writer = out
	var rec *recorder
	if r.journal != nil {
		tmp, err := r.journal.tempResult(idx, a.n)
		if err != nil {
			out.Discard()
			res.outcome, res.err = attemptFatal, fmt.Errorf("journal: %w", err)
			return
		}
		rec = &recorder{f: tmp, h: sha256.New()}
		defer rec.cleanup()
		dst = io.MultiWriter(out, rec)
	}
	w := &countWriter{w: dst, p: &a.prog}
	probe := r.watchTimeout(a, host)
	if r.job.Mode == Files {
		err = r.runFiles(a, res, host, w)
	} else {
		err = r.runStream(a, res, host, w)
	}
	res.probeErr = probe.wait()
	res.dur = time.Since(a.start)
	res.longest = a.prog.longestSilence(nanotime())
	res.out = w.n
	if err == nil && rec != nil && rec.err != nil {
		err = &fatalError{fmt.Errorf("journal: %w", rec.err)}
	}
	if err == nil && r.job.Mode == Stream {
		size := a.task.chunk.Size
		unread := size - res.in
		if res.leftover >= 0 {
			unread = min(res.leftover, size)
		}
		if unread > 0 {
			res.unread = unread
			if r.d.opts.RequireFullRead {
				out.Discard()
				res.outcome = attemptFailed
				res.err = &UnreadError{Host: host, Command: r.job.name(), Read: size - unread, Size: size}
				return
			}
		}
	}
	if err == nil {
		r.commit(a, res, out, rec, attemptCommitted)
		return
	}
	out.Discard()
	res.outcome, res.err = r.classify(a, host, err)
}

// classify gives a failed transport call's error its outcome.
func (r *run) classify(a *attempt, host string, err error) (attemptState, error) {
	// The transport names the command it ran, which may be a generated
	// wrapper or carry Files-mode temp paths: name the job's command.
	var ee *transport.ExitError
	if errors.As(err, &ee) {
		ee.Command = r.job.name()
	}
	var fe *fatalError
	switch {
	case errors.As(err, &fe):
		return attemptFatal, fe.err
	case errors.Is(a.ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil:
		// Whether the worker hung or its host did is for the probe
		// that follows to say (see decide).
		return attemptTimedOut, &transport.OpError{Op: "run", Host: host,
			Err: fmt.Errorf("command %q: %w after %v", r.job.name(), ErrAttemptTimeout, a.limit)}
	case a.ctx.Err() != nil:
		// Cancelled by the scheduler (another copy won) or with the
		// run; the policy decides which.
		return attemptCancelled, err
	case errors.Is(err, transport.ErrClosed):
		return attemptFatal, err
	case transport.IsLost(err):
		return attemptLost, err
	case workerFailed(err):
		return attemptFailed, err
	default:
		// The host refused the work for a reason that running it
		// elsewhere would only hide: a refused host key, failed
		// authentication, an unknown host name, a file that cannot be
		// written. The run stops with that error.
		return attemptFatal, err
	}
}

// commit commits an attempt's output and, with a journal, records it; ok
// is the outcome when all goes well (attemptCommitted or attemptResumed).
func (r *run) commit(a *attempt, res *attemptResult, out gather.Output, rec *recorder, ok attemptState) {
	idx := a.task.chunk.Index
	switch cerr := out.Commit(); {
	case cerr == nil:
		res.outcome = ok
	case errors.Is(cerr, gather.ErrDuplicate):
		res.outcome = attemptDuplicate
		return
	default:
		res.outcome, res.err = attemptFatal, fmt.Errorf("committing chunk %d: %w", idx, cerr)
		return
	}
	if rec == nil {
		return
	}
	if err := r.journal.record(a.task.chunk, rec.f, res.out, hex.EncodeToString(rec.h.Sum(nil))); err != nil {
		res.outcome, res.err = attemptFatal, fmt.Errorf("journal: recording chunk %d: %w", idx, err)
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

// stderrOf returns where attempt a on host writes its standard error:
// RunOptions.StderrFor's writer, else the run's Stderr, else nil.
func (r *run) stderrOf(host string, a *attempt) io.Writer {
	if f := r.opts.StderrFor; f != nil {
		if w := f(host, a.task.chunk.Index, a.n); w != nil {
			return w
		}
		return nil
	}
	if r.stderr != nil {
		return r.stderr
	}
	return nil
}

// runStream feeds the chunk to the worker's standard input and takes its
// standard output as the result.
func (r *run) runStream(a *attempt, res *attemptResult, host string, out io.Writer) error {
	rc, err := a.task.chunk.Open()
	if err != nil {
		return &fatalError{fmt.Errorf("opening chunk %d: %w", a.task.chunk.Index, err)}
	}
	defer rc.Close()
	// Stopped before rc closes: a transport late to let go of its input
	// cannot race with the chunk being closed or released.
	in := iox.NewCountingReader(rc)
	cmd := r.job.Command
	cmd.Stdin = &progressReader{r: in, p: &a.prog}
	cmd.InputSize = a.task.chunk.Size
	cmd.Stdout = out
	cmd.Stderr = r.stderrOf(host, a)
	res.leftover = -1
	cmd.Unread = &res.leftover
	err = r.d.t.Run(a.ctx, host, &cmd)
	res.in = in.Stop()
	return err
}

// runFiles uploads the chunk, runs the worker on the file, fetches the
// result, and removes both files.
func (r *run) runFiles(a *attempt, res *attemptResult, host string, out io.Writer) (err error) {
	idx := a.task.chunk.Index
	rc, err := a.task.chunk.Open()
	if err != nil {
		return &fatalError{fmt.Errorf("opening chunk %d: %w", idx, err)}
	}
	defer rc.Close()
	base := path.Join(".dproc", fmt.Sprintf("%s-%d-%d", r.id, idx, a.n))
	inRel, outRel := base+".in", base+".out"
	dir := r.job.Dir
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

	in := iox.NewCountingReader(rc)
	err = r.d.t.Put(a.ctx, host, inPath, &progressReader{r: in, p: &a.prog}, 0o600)
	res.in = in.Stop()
	if err != nil {
		return err
	}
	uploaded = true
	cmd := substitute(r.job.Command, inRel, outRel)
	usesOut := strings.Contains(r.job.String(), "{out}")
	if !usesOut {
		cmd.Stdout = out
	}
	cmd.Stderr = r.stderrOf(host, a)
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

// countWriter counts the bytes written through it, and records them as
// the attempt's progress; it is used from one goroutine only.
type countWriter struct {
	w io.Writer
	n int64
	p *progress
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if n > 0 {
		c.p.tick()
	}
	return n, err
}
