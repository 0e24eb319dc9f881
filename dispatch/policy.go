package dispatch

import (
	"errors"
	"fmt"
	"sort"

	"dproc/transport"
)

// This file holds the failure policy: what a finished attempt means for its
// chunk, its host and the run. The decision is one pure function, decide,
// over a few facts about the attempt (its outcome, whether its chunk is
// settled, what the probe of a timed-out attempt's host said, what budget
// is left); finish gathers the facts and carries the action out.

// attemptState is where an attempt is in its life. The scheduler goroutine
// alone reads and writes it. Transitions:
//
//	running    -> superseded  another copy of the chunk committed; the
//	                          scheduler cancelled this one
//	running    -> (outcome)   its slot returned it: the outcome its
//	superseded -> (outcome)   execution reported (attemptResult.outcome)
//	committed  -> duplicate   (in finish) another copy committed first
//	resumed    -> duplicate   (in finish) likewise, for a journal replay
//
// Every state from committed on is final: an attempt reaches exactly one.
type attemptState int

const (
	attemptRunning    attemptState = iota // handed to a slot, which runs it
	attemptSuperseded                     // still running, cancelled: another copy won

	// Outcomes, reported by the slot that ran the attempt.
	attemptCommitted // the worker succeeded and its output was committed
	attemptResumed   // the journal's output was committed; nothing ran
	attemptDuplicate // another copy committed first; the output was dropped
	attemptCancelled // its context ended: another copy won, or the run ends
	attemptLost      // the transport lost the host (transport.ErrLost)
	attemptFailed    // the worker failed: exited non-zero, wrote no result, left input unread
	attemptTimedOut  // ran past its limit; the probe of its host says lost or failed
	attemptFatal     // the run cannot go on: unreadable input, a gatherer or journal failure, a refusing host
)

var stateNames = [...]string{
	attemptRunning: "running", attemptSuperseded: "superseded", attemptCommitted: "committed",
	attemptResumed: "resumed", attemptDuplicate: "duplicate", attemptCancelled: "cancelled",
	attemptLost: "lost", attemptFailed: "failed", attemptTimedOut: "timed-out", attemptFatal: "fatal",
}

func (s attemptState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// probeVerdict is what the probe that follows a timed-out attempt said
// about its host.
type probeVerdict int

const (
	probeNone        probeVerdict = iota // not a timeout: no probe
	probeAnswered                        // the host answers: the worker hung or was slow
	probeHostDown                        // the probe answered, but the host went down meanwhile (for another attempt)
	probeUnreachable                     // the probe found the host lost or silent
	probeRefused                         // the probe was refused (host key, authentication, unknown host)
)

// facts are what the policy looks at to decide about one ended attempt.
type facts struct {
	outcome   attemptState // the attempt's final state
	runEnding bool         // the run's context ended (cancelled, or a fatal error elsewhere)
	settled   bool         // the chunk is already committed or failed for good
	probe     probeVerdict // for attemptTimedOut
	copies    bool         // other attempts at the chunk still run
	lostLeft  bool         // counting this loss, the chunk is within Options.MaxLost
	retryLeft bool         // counting this failure, the chunk is within Options.Retries
	keepGoing bool         // Options.Halt.KeepGoing
	overShare bool         // counting this chunk's failure, more than Halt.Share of the chunks failed
	hostGone  bool         // the scheduler cancelled the attempt: it stalled and its host then failed a probe
}

// action is what the run does about an ended attempt.
type action int

const (
	actStop          action = iota // the run is ending: stop with its context's error
	actDiscard                     // the attempt no longer counts: ChunkCancelled
	actFatal                       // stop the run with a *ChunkError
	actRefused                     // stop the run with the probe's refusal, naming the host
	actCommit                      // the chunk is done: ChunkDone, cancel its other copies
	actResume                      // the chunk is done from the journal: ChunkResumed
	actLostRequeue                 // ChunkLost, host down, the chunk runs again elsewhere
	actLostWait                    // ChunkLost, host down, another copy still runs
	actLostGiveUp                  // ChunkLost, host down, stop the run with a *LostError
	actRetry                       // ChunkRetry, the chunk runs again
	actRetryWait                   // ChunkRetry, another copy still runs and decides
	actFailStop                    // ChunkFailed, stop the run with the *ChunkError
	actFailContinue                // ChunkFailed, keep going (Halt.KeepGoing)
	actFailShareStop               // ChunkFailed, stop the run: Halt.Share exceeded
	actLostSettled                 // ChunkLost, host down; the chunk committed from another copy already
)

var actionNames = [...]string{
	actStop: "stop", actDiscard: "discard", actFatal: "fatal", actRefused: "refused",
	actCommit: "commit", actResume: "resume", actLostRequeue: "lost-requeue", actLostWait: "lost-wait",
	actLostGiveUp: "lost-give-up", actRetry: "retry", actRetryWait: "retry-wait",
	actFailStop: "fail-stop", actFailContinue: "fail-continue", actFailShareStop: "fail-share-stop",
	actLostSettled: "lost-settled",
}

func (a action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// decide is the failure policy, as a table read top to bottom: the first
// row whose conditions hold gives the action.
func decide(f facts) action {
	success := f.outcome == attemptCommitted || f.outcome == attemptResumed
	// A timed-out attempt is lost or failed, as the probe of its host says.
	// So is one cancelled because its host failed the probe after a stall.
	lost := f.outcome == attemptLost ||
		f.outcome == attemptTimedOut && (f.probe == probeHostDown || f.probe == probeUnreachable) ||
		f.outcome == attemptCancelled && f.hostGone
	failed := f.outcome == attemptFailed || f.outcome == attemptTimedOut && f.probe == probeAnswered
	switch {
	case !success && f.runEnding: // row 1: the run ends; nothing else matters
		return actStop
	case f.outcome == attemptCancelled && f.hostGone && f.settled: // row 2a: superseded on a host found dead
		return actLostSettled
	case !success && f.settled, // row 2: the chunk has its result (or failed for good)
		f.outcome == attemptDuplicate, f.outcome == attemptCancelled && !f.hostGone:
		return actDiscard
	case f.outcome == attemptFatal: // row 3
		return actFatal
	case f.outcome == attemptResumed: // row 4
		return actResume
	case f.outcome == attemptCommitted: // row 5
		return actCommit
	case f.outcome == attemptTimedOut && f.probe == probeRefused: // row 6
		return actRefused
	case lost && !f.lostLeft: // row 7: lost too often
		return actLostGiveUp
	case lost && f.copies: // row 8
		return actLostWait
	case lost: // row 9: lost attempts do not use up Retries
		return actLostRequeue
	case failed && f.copies: // row 10: the other copy's outcome decides
		return actRetryWait
	case failed && f.retryLeft: // row 11
		return actRetry
	case failed && !f.keepGoing: // row 12: Halt's default: fail fast
		return actFailStop
	case failed && f.overShare: // row 13
		return actFailShareStop
	case failed: // row 14
		return actFailContinue
	}
	// Unreachable: every final state is covered above; an attempt that is
	// still running never reaches the policy.
	panic(fmt.Sprintf("dispatch: no policy for %+v", f))
}

// finish applies the run's policy to an attempt its slot returned.
func (r *run) finish(a *attempt) {
	t := a.task
	h := a.slot.host
	h.idle = append(h.idle, a.slot)
	r.ready.update(h)
	a.end()
	if a.state == attemptCommitted || a.state == attemptResumed {
		if t.done {
			a.state = attemptDuplicate
		} else {
			// Mark done before accounting, so the chunk is released
			// once its last attempt ends.
			t.done = true
		}
	}
	r.account(a)
	res := &a.res
	f := facts{
		outcome:   a.state,
		runEnding: r.ctx.Err() != nil,
		settled:   t.done && a.state != attemptCommitted && a.state != attemptResumed,
		copies:    len(t.running) > 0,
		lostLeft:  len(t.lost)+1 <= r.d.opts.MaxLost,
		retryLeft: t.failures+1 <= r.d.opts.Retries,
		keepGoing: r.d.opts.Halt.KeepGoing,
		hostGone:  a.hostGone != nil,
	}
	if share := r.d.opts.Halt.Share; share > 0 {
		f.overShare = float64(len(r.failed)+1) > share*float64(r.nchunks)
	}
	lostErr := res.err
	if a.state == attemptCancelled && a.hostGone != nil {
		lostErr = r.stallErr(a)
	}
	if a.state == attemptTimedOut {
		switch perr := res.probeErr; {
		case perr == nil && h.state != hostDown:
			f.probe = probeAnswered
		case perr == nil:
			f.probe = probeHostDown
			lostErr = lost(res.err)
		case unreachable(perr):
			f.probe = probeUnreachable
			lostErr = lost(fmt.Errorf("%w; then the host's probe failed: %w", res.err, r.probeReason(h, perr)))
		default:
			f.probe = probeRefused
		}
	}
	idx := t.chunk.Index
	ev := Event{Host: h.name, Chunk: idx, Attempt: a.n, Duration: res.dur, Err: res.err}
	act := decide(f)
	if a.state == attemptTimedOut && act != actStop && act != actDiscard {
		h.rep.Timeouts++
		h.rep.LastErr = res.err
	}
	switch act {
	case actStop:
		r.fail(r.ctx.Err())
		return
	case actDiscard:
		ev.Kind = ChunkCancelled
		r.emit(ev)
	case actFatal:
		r.fail(&ChunkError{Chunk: idx, Host: h.name, Attempts: t.attempts, Err: res.err})
	case actRefused:
		r.fail(r.hostErr(h.name, "probe", res.probeErr))
	case actResume:
		r.open--
		r.rep.Done++
		r.rep.Resumed++
		r.rep.BytesOut += res.out
		r.emit(Event{Kind: ChunkResumed, Chunk: idx, Attempt: a.n, Bytes: res.out})
	case actCommit:
		r.open--
		r.rep.Done++
		h.rep.Done++
		h.rep.BytesOut += res.out
		r.rep.BytesOut += res.out
		r.durations.add(res.dur)
		r.silences.add(res.longest)
		for _, o := range t.running {
			o.supersede()
		}
		ev.Kind, ev.Bytes, ev.Unread = ChunkDone, res.out, res.unread
		r.emit(ev)
	case actLostSettled:
		// The chunk has its output; the attempt still counts as lost,
		// as every attempt on a host that failed its probe does.
		h.rep.Lost++
		h.rep.LastErr = lostErr
		ev.Kind, ev.Err = ChunkLost, lostErr
		r.emit(ev)
		r.markDown(h, lostErr)
	case actLostRequeue, actLostWait, actLostGiveUp:
		h.rep.Lost++
		h.rep.LastErr = lostErr
		t.lost = append(t.lost, lostErr)
		t.try(h.name)
		ev.Kind, ev.Err = ChunkLost, lostErr
		r.emit(ev)
		r.markDown(h, lostErr)
		switch act {
		case actLostGiveUp:
			r.fail(&LostError{Chunk: idx, Command: r.job.name(), Errs: t.lost})
		case actLostRequeue:
			r.enqueue(t, true)
		}
	case actRetry, actRetryWait, actFailStop, actFailContinue, actFailShareStop:
		h.rep.Failures++
		h.rep.LastErr = res.err
		t.failures++
		t.try(h.name)
		if act == actRetry || act == actRetryWait {
			ev.Kind = ChunkRetry
			r.emit(ev)
			if act == actRetry {
				r.enqueue(t, true)
			}
			break
		}
		ce := &ChunkError{Chunk: idx, Host: h.name, Attempts: t.attempts, Err: res.err}
		ev.Kind, ev.Err = ChunkFailed, ce
		r.emit(ev)
		t.done = true
		t.chunk.Release()
		r.open--
		r.rep.Failed++
		switch act {
		case actFailStop:
			r.fail(ce)
		case actFailContinue:
			r.failed = append(r.failed, ce)
		case actFailShareStop:
			r.failed = append(r.failed, ce)
			r.fail(r.failedErr(true))
		}
	}
	r.checkAllDown()
}

// lost marks err as a lost attempt's: it matches [transport.ErrLost] too.
func lost(err error) error { return transport.Lost(err) }

func (r *run) failedErr(stopped bool) error {
	fc := append([]*ChunkError(nil), r.failed...)
	sort.Slice(fc, func(i, j int) bool { return fc[i].Chunk < fc[j].Chunk })
	return &FailedChunksError{Chunks: fc, Stopped: stopped}
}

// checkAllDown fails the run when every host is down and has failed a probe
// since: no host is left to run the remaining chunks.
func (r *run) checkAllDown() {
	for _, h := range r.hosts {
		if !h.retired && (h.state != hostDown || !h.probeFailed) {
			return
		}
	}
	var names []string
	errs := make(map[string]error, len(r.hosts))
	for _, h := range r.hosts {
		if !h.retired {
			names = append(names, h.name)
			errs[h.name] = h.rep.LastErr
		}
	}
	r.fail(&HostsDownError{Hosts: names, Errs: errs})
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
