package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"dproc/nodeops"
	"dproc/transport"
)

// This file holds host probing and setup: a host is set up before its
// first chunk, a host marked down is probed with backoff until it answers
// and is set up again, and a timed-out attempt's host is probed at once to
// tell a hung worker from a hung host.

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

// markDown takes h out of scheduling and starts probing it.
func (r *run) markDown(h *hostState, err error) {
	h.rep.LastErr = err
	if h.state == hostDown {
		return
	}
	h.state = hostDown
	h.probeFailed = false
	r.ready.update(h)
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

// prepare installs the job's setup files on host with [nodeops.Install]:
// content sent only where it differs, modes put right.
func (r *run) prepare(ctx context.Context, host string) error {
	if len(r.job.Setup) == 0 {
		return nil
	}
	_, err := nodeops.Install(ctx, r.d.t, host, r.job.Command.Dir, r.job.Setup)
	return err
}

func (r *run) hostResult(hr hostResult) {
	switch hr.phase {
	case phaseStall:
		r.stallResult(hr)
		return
	case phaseUnanswered:
		r.unanswered(hr.h)
		return
	}
	h := hr.h
	if hr.err == nil {
		prev := h.state
		h.state, h.probing, h.probeFailed = hostUp, false, false
		r.ready.update(h)
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
