package sshtransport

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"dproc/transport"
)

// This file holds the life of one command of Run on its connection: its
// launch (a session slot, a session, the exec request), and its
// cancellation, which a host that does not answer must not hold up.

// answerWait is how long a cancelled Run waits for its host to show it is
// alive, by answering the cancellation or a keepalive request sent with it,
// before it returns and leaves the rest of the cancellation to the
// background. A live host answers within a round trip; a frozen one (a
// stopped sshd, a silent network) answers nothing.
const answerWait = 500 * time.Millisecond

// remoteCmd is one command of Run: its host's pool and, once launched, its
// connection and session slot, its session and streams.
type remoteCmd struct {
	t      *Transport
	p      *hostPool
	stderr *pidFilter // the session's standard error
	gates  []*gate    // the caller's Stdout and Stderr

	// The connection launch has a slot on, once it has one: launch sets
	// it, awaitLaunch reads it.
	acquired atomic.Pointer[conn]

	// Set by launch when it succeeds.
	c     *conn
	sess  *ssh.Session
	stdin io.WriteCloser // nil without Command.Stdin
	done  chan error     // sess.Wait's result
}

// launch takes a session slot on a connection to the host (dialling one if
// needed), opens a session and starts the command line with stdout and
// rc.stderr as its output (and a standard input pipe when hasStdin). When it
// succeeds, rc holds the slot and the session until release; when it
// fails, it holds nothing. Only the wait for a slot and the dial end with
// ctx: opening a session and the exec request wait for the host's answer,
// which is why Run calls launch on a goroutine of its own (see
// awaitLaunch). It takes the line rather than the caller's Command because
// it may go on after Run has returned, when the caller may reuse its
// Command.
func (rc *remoteCmd) launch(ctx context.Context, line string, hasStdin bool, stdout io.Writer) error {
	p := rc.p
	var c *conn
	var sess *ssh.Session
	for attempt := 0; ; attempt++ {
		var err error
		c, err = p.acquire(ctx, true)
		if err != nil {
			return err
		}
		rc.acquired.Store(c)
		sess, err = c.client.NewSession()
		if err == nil {
			break
		}
		p.release(c)
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) && c.alive() && attempt < 3 {
			// The server's MaxSessions is lower than ours.
			p.lowerLimit(c)
			continue
		}
		return c.lostErr(err)
	}
	fail := func(err error) error {
		sess.Close()
		p.release(c)
		return c.lostErr(err)
	}
	sess.Stdout = stdout
	sess.Stderr = rc.stderr
	if hasStdin {
		stdin, err := sess.StdinPipe()
		if err != nil {
			return fail(err)
		}
		rc.stdin = stdin
	}
	if err := sess.Start(line); err != nil {
		return fail(err)
	}
	rc.c, rc.sess = c, sess
	done := make(chan error, 1)
	rc.done = done
	go func() { done <- sess.Wait() }()
	return nil
}

// awaitLaunch is called when Run's context ends while launch is under way:
// it waits for launch's result until giveUp (answerWait at most) and
// returns it, with true. When the host has not answered by then, it shuts
// the caller's writers and returns false at once: a background goroutine,
// which Close waits for, waits for launch and stops the command if it
// started after all (bounded as cancel's are; launch itself ends when the
// host answers, or its connection is closed by the keepalive or by Close).
func (rc *remoteCmd) awaitLaunch(launched <-chan error) (bool, error) {
	start := time.Now()
	tm := time.NewTimer(time.Until(rc.giveUp(start, rc.acquired.Load())))
	defer tm.Stop()
	for waiting := true; waiting; {
		select {
		case err := <-launched:
			return true, err
		case <-tm.C:
		}
		if d := time.Until(rc.giveUp(start, rc.acquired.Load())); d > 0 {
			tm.Reset(d)
		} else {
			waiting = false
		}
	}
	abandon := func() {
		if err := <-launched; err == nil {
			rc.stop()
		}
	}
	if !rc.t.spawn(abandon) {
		// Close has begun: it is closing the connections, which ends
		// launch at once.
		abandon()
	}
	rc.shut()
	return false, nil
}

// cancel stops the launched command (see Transport.stop: SIGTERM, SIGKILL,
// a kill command, and past killDeadline the connection is closed), closes
// its session and gives its slot back. It returns once that is done while
// the host answers: the cancellation itself, or a keepalive request sent
// with it. When the host has answered neither by giveUp (answerWait at
// most), cancel shuts the caller's writers and returns at once, and the
// cancellation goes on in the background until it is done; Close waits
// for it. So a live host has no worker left once cancel returns, and a
// frozen one holds its caller for answerWait at most, not killDeadline.
func (rc *remoteCmd) cancel() {
	finished := make(chan struct{})
	answered := make(chan struct{})
	work := func() {
		var ping sync.WaitGroup
		ping.Go(func() {
			// Ends with an answer, or when the connection is closed
			// (stop closes it past killDeadline).
			if err := rc.c.ask(); err == nil {
				close(answered)
			}
		})
		rc.stop()
		close(finished)
		ping.Wait()
	}
	if !rc.t.spawn(work) {
		// Close has begun and is closing the connections: the
		// cancellation ends at once.
		work()
		return
	}
	start := time.Now()
	tm := time.NewTimer(time.Until(rc.giveUp(start, rc.c)))
	defer tm.Stop()
	for {
		select {
		case <-finished:
			return
		case <-answered:
			<-finished
			return
		case <-tm.C:
		}
		if d := time.Until(rc.giveUp(start, rc.c)); d > 0 {
			tm.Reset(d) // the host sent something meanwhile
			continue
		}
		rc.shut()
		return
	}
}

// giveUp is when Run stops waiting for a host that has not answered a
// cancellation made at start: answerWait later, or earlier when c (nil:
// no connection yet) has left a request unanswered for answerWait already
// (see conn.ask: a keepalive of the connection's watch, a Ping, or an
// earlier cancellation's): the answer is not waited for twice.
func (rc *remoteCmd) giveUp(start time.Time, c *conn) time.Time {
	by := start.Add(answerWait)
	if c == nil {
		return by
	}
	if asked := c.unansweredSince(); !asked.IsZero() {
		if t := asked.Add(answerWait); t.Before(by) {
			by = t
		}
	}
	return by
}

// stop kills the launched command and releases its session and slot.
func (rc *remoteCmd) stop() {
	rc.t.stop(rc.c, rc.sess, rc.stderr, rc.done)
	rc.release()
}

// release closes the launched command's session and gives its slot back.
func (rc *remoteCmd) release() {
	rc.sess.Close()
	rc.p.release(rc.c)
}

// shut stops the caller's writers: whatever arrives later is dropped.
func (rc *remoteCmd) shut() {
	for _, g := range rc.gates {
		g.shut()
	}
}

// callerWriters puts cmd's Stdout and Stderr behind gates of rc (the
// gates of an earlier command are dropped) and returns where the command's
// output goes: stdout (io.Discard without Stdout), and stderr, which also
// keeps its tail in tail.
func (rc *remoteCmd) callerWriters(cmd *transport.Command, tail *transport.Tail) (stdout, stderr io.Writer) {
	rc.gates = rc.gates[:0]
	stdout, stderr = io.Discard, tail
	if cmd.Stderr != nil {
		g := &gate{w: cmd.Stderr}
		rc.gates = append(rc.gates, g)
		stderr = io.MultiWriter(tail, g)
	}
	if cmd.Stdout != nil {
		g := &gate{w: cmd.Stdout}
		rc.gates = append(rc.gates, g)
		stdout = g
	}
	return stdout, stderr
}

// gate passes writes on to w until it is shut, and drops them from then on
// (reporting them written, so that the session's copy goes on draining
// the channel). A Write in progress when shut is called is waited for: once
// shut has returned, w is never written again.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
