package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"dproc/transport"
)

// This file holds stall detection (see Stall): the scheduler looks at the
// progress of its running attempts on a ticker, starts copies of stalled
// ones where slots are free, and probes the hosts of stalled attempts.

// ErrStalled is wrapped by the error of an attempt that made no progress
// for longer than the run's stall limit (see [Stall]) and whose host then
// failed its probe; the error wraps [transport.ErrLost] too.
var ErrStalled = errors.New("attempt stalled")

// phaseStall is the phase of the probe that follows a stall.
const phaseStall = "stall probe"

// phaseUnanswered is the message a stall probe sends when its host has not
// answered within Stall.Answer; the probe's verdict follows later.
const phaseUnanswered = "stall probe unanswered"

// quietFor is the silence after which an attempt's host is probed: a third
// of Stall.Answer (of the stall limit, if that is shorter), so that a host
// that froze while its workers streamed is found 4/3 of Answer later.
func quietFor(st Stall, limit time.Duration) time.Duration {
	return max(min(st.Answer, limit)/3, time.Millisecond)
}

// watchInterval is how often the scheduler looks at its running attempts:
// often enough for Options.Speculate, and a quarter of the silence that
// has a host probed (between 10 ms and 250 ms) for stalls. 0: never.
func (r *run) watchInterval() time.Duration {
	var every time.Duration
	if st := r.d.opts.Stall; !st.Off {
		every = min(max(quietFor(st, st.Floor)/4, 10*time.Millisecond), 250*time.Millisecond)
	}
	if r.d.opts.Speculate > 0 && (every == 0 || every > 50*time.Millisecond) {
		every = 50 * time.Millisecond
	}
	return every
}

// watch runs on the scheduler's ticker.
func (r *run) watch() {
	if !r.d.opts.Stall.Off {
		r.checkStalls()
	}
	if r.d.opts.Speculate > 0 {
		r.speculate()
	}
}

// stallLimit is the silence beyond which an attempt is stalled.
func (r *run) stallLimit() time.Duration {
	st := r.d.opts.Stall
	if r.silences.len() < minTimeoutSamples {
		return time.Duration(st.Factor * float64(st.Floor))
	}
	return max(time.Duration(st.Factor*float64(r.silences.median())), st.Floor)
}

// checkStalls probes the hosts of attempts silent for a third of
// Stall.Answer (quietFor), reports the attempts that stalled (silent past
// the stall limit, or silent that long on a host that has not answered its
// probe within Stall.Answer), probes their hosts, and starts a copy of each
// stalled chunk that has none, oldest first, on free slots of other hosts
// when no chunk waits.
func (r *run) checkStalls() {
	limit := r.stallLimit()
	quiet := quietFor(r.d.opts.Stall, limit)
	now := nanotime()
	var copies []*attempt
	for a := range r.live {
		t := a.task
		if t.replay || t.done || a.state != attemptRunning {
			continue
		}
		silence := a.prog.silence(now)
		if silence < quiet {
			// It moved again: a later silence is a new one.
			a.probeAt, a.stalled = 0, false
			continue
		}
		h := a.slot.host
		if !a.stalled && silence <= limit && !h.unanswered {
			// Silent, not stalled yet: is its host still there? Asked
			// again each time the silence doubles, so that a host that
			// freezes while its worker computes in silence is found
			// before the stall limit too.
			if silence >= max(a.probeAt, quiet) {
				a.probeAt = 2 * silence
				r.probeStall(h)
			}
			continue
		}
		if !a.stalled {
			a.stalled = true
			h.rep.Stalled++
			r.emit(Event{Kind: ChunkStalled, Host: h.name, Chunk: t.chunk.Index, Attempt: a.n, Duration: silence})
			r.probeStall(h)
		}
		if len(t.running) == 1 {
			copies = append(copies, a)
		}
	}
	if len(copies) == 0 || len(r.pending) > 0 {
		return
	}
	sort.Slice(copies, func(i, j int) bool { return copies[i].start.Before(copies[j].start) })
	for _, a := range copies {
		h := r.pickHost(a.task, a.slot.host.name)
		if h == nil {
			return
		}
		r.start(a.task, h, true)
	}
}

// probeStall pings the host of a silent or stalled attempt, unless a probe
// of it is under way; the host takes no new chunk until the probe answers.
// The probe tells the scheduler when the host has not answered within
// Stall.Answer ([phaseUnanswered]), and then its verdict ([phaseStall]).
func (r *run) probeStall(h *hostState) {
	if h.suspect || h.state != hostUp {
		return
	}
	h.suspect = true
	r.ready.update(h)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(r.ctx, r.d.opts.ProbeTimeout)
		defer cancel()
		reply := make(chan error, 1)
		go func() { reply <- transport.Ping(ctx, r.d.t, h.name) }()
		send := func(hr hostResult) bool {
			select {
			case r.hostCh <- hr:
				return true
			case <-r.ctx.Done():
				return false
			}
		}
		timer := time.NewTimer(r.d.opts.Stall.Answer)
		defer timer.Stop()
		var err error
		select {
		case err = <-reply:
		case <-timer.C:
			if !send(hostResult{h: h, phase: phaseUnanswered}) {
				cancel()
				<-reply // the run ended: Ping returns at once
				return
			}
			err = <-reply
		}
		send(hostResult{h: h, err: err, phase: phaseStall})
	}()
}

// unanswered notes that h has not answered its probe within Stall.Answer:
// its silent attempts are stalled from now until the probe answers.
func (r *run) unanswered(h *hostState) {
	if !h.suspect {
		return
	}
	h.unanswered = true
	r.checkStalls()
}

// stallResult applies the verdict of a stall probe: a host that answers
// takes chunks again; one that does not is down, and its running attempts
// are cancelled and count as lost (also those a committed copy superseded,
// which are reported lost but do not run again); one that refuses stops
// the run.
func (r *run) stallResult(hr hostResult) {
	h := hr.h
	h.suspect, h.unanswered = false, false
	r.ready.update(h)
	if hr.err == nil || r.ctx.Err() != nil {
		return
	}
	if !unreachable(hr.err) {
		r.fail(r.hostErr(h.name, "probe", hr.err))
		return
	}
	now := nanotime()
	for a := range r.live {
		// Superseded attempts (a copy committed) count as lost too.
		if a.slot.host == h && (a.state == attemptRunning || a.state == attemptSuperseded) {
			a.hostGone = hr.err
			a.silence = a.prog.silence(now)
			a.cancel()
		}
	}
	r.markDown(h, r.hostErr(h.name, "probe", hr.err))
	r.checkAllDown()
}

// stallErr is the error of an attempt cancelled because its host failed
// the probe that followed a stall.
func (r *run) stallErr(a *attempt) error {
	h := a.slot.host
	return lost(&transport.OpError{Op: "run", Host: h.name,
		Err: fmt.Errorf("command %q: %w: no progress for %v, then the host's probe failed: %w",
			r.job.name(), ErrStalled, a.silence.Round(time.Millisecond), r.probeReason(h, a.hostGone))})
}
