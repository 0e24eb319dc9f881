package sshtransport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"dproc/transport"
)

// wrapper supervises the job ($1) on the host. sshd makes the wrapper a
// session and process group leader; the wrapper starts a watcher in the
// background and then evaluates the job in its own shell (an argument
// vector is exec'd), so the job keeps the wrapper's process id and group
// and Session.Signal reaches it and everything it starts. The watcher polls
// the parent sshd once a second: when sshd is gone (the connection dropped)
// it kills the process group, TERM and then KILL; when the job is gone it
// exits. Its standard streams are /dev/null, so it never holds the session
// open. The job runs with no positional parameters and without the
// wrapper's variables.
const wrapper = `_dproc_p=$PPID _dproc_j=$$
echo ` + pidMarker + `$$ >&2
(while kill -0 $_dproc_p 2>/dev/null && kill -0 $_dproc_j 2>/dev/null; do sleep 1; done
kill -0 $_dproc_j 2>/dev/null || exit 0
trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0) </dev/null >/dev/null 2>&1 &
eval "unset _dproc_p _dproc_j; shift; $1"`

// pidMarker starts the line the wrapper writes first on standard error: its
// process id, which is also the job's process group. Run strips the line.
const pidMarker = "dproc-wrapper-pid="

// signalWait is how long Run waits for a command killed by a signal request
// to end before killing it with a command; killGrace then bounds the wait
// before the session is closed.
const (
	signalWait = 300 * time.Millisecond
	killGrace  = 2 * time.Second
	// killDeadline bounds the whole of a cancellation; see stop.
	killDeadline = 2*signalWait + killGrace + 1500*time.Millisecond
)

// loginQuote quotes s so that every login shell sshd may start (sh, dash,
// bash, zsh, fish) reads it back as s: inside single quotes, with each ' and
// \ written in double quotes (fish treats \' and \\ as escapes even inside
// single quotes).
func loginQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString(`'"'"'`)
		case '\\':
			b.WriteString(`'"\\"'`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// jobScript is the POSIX sh script for cmd: Env exported, Dir entered, then
// the command (exec'd when it is an argument vector).
func jobScript(cmd *transport.Command) string {
	var b strings.Builder
	if len(cmd.Env) > 0 {
		b.WriteString("export")
		for _, kv := range cmd.Env {
			k, v, _ := strings.Cut(kv, "=")
			b.WriteString(" " + k + "=" + transport.Quote(v))
		}
		b.WriteString("\n")
	}
	if cmd.Dir != "" {
		b.WriteString("cd " + transport.Quote(cmd.Dir) + " || exit\n")
	}
	if cmd.Shell != "" {
		b.WriteString(cmd.Shell)
	} else {
		b.WriteString("exec " + transport.QuoteArgs(cmd.Args))
	}
	return b.String()
}

// remoteCommand is the string sent in the exec request: the wrapper and the
// job script, quoted for any login shell and run by /bin/sh.
func remoteCommand(cmd *transport.Command) string {
	return "exec /bin/sh -c " + loginQuote(wrapper) + " dproc-wrap " + loginQuote(jobScript(cmd))
}

// Run runs cmd on host. See [transport.Transport.Run].
//
// The command runs under /bin/sh through a small wrapper, whatever the
// user's login shell. Cancelling ctx stops feeding standard input (no end of
// file is sent) and kills the command's process group, SIGTERM then
// SIGKILL; if the connection drops, the wrapper kills the group itself. A
// read error from cmd.Stdin kills the command the same way and is
// returned, so a command never mistakes a truncated input for a whole one.
func (t *Transport) Run(ctx context.Context, host string, cmd *transport.Command) error {
	opErr := func(err error) error {
		if err == nil {
			return nil
		}
		return &transport.OpError{Op: "run", Host: host, Err: err}
	}
	if host == "" {
		return opErr(errEmptyHost)
	}
	if err := cmd.Validate(); err != nil {
		return opErr(err)
	}
	if t.isClosed() {
		return opErr(transport.ErrClosed)
	}
	p := t.pool(host)
	var sess *ssh.Session
	var c *conn
	for attempt := 0; ; attempt++ {
		var err error
		c, err = p.acquire(ctx, true)
		if err != nil {
			return opErr(err)
		}
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
		return opErr(c.lostErr(err))
	}
	defer p.release(c)
	defer sess.Close()

	var tail transport.Tail
	sess.Stdout = cmd.Stdout
	if sess.Stdout == nil {
		sess.Stdout = io.Discard
	}
	stderr := &pidFilter{w: &tail, pid: make(chan string, 1)}
	if cmd.Stderr != nil {
		stderr.w = io.MultiWriter(&tail, cmd.Stderr)
	}
	sess.Stderr = stderr
	var stdin io.WriteCloser
	if cmd.Stdin != nil {
		var err error
		if stdin, err = sess.StdinPipe(); err != nil {
			return opErr(c.lostErr(err))
		}
	}
	if err := sess.Start(remoteCommand(cmd)); err != nil {
		return opErr(c.lostErr(err))
	}
	stdinErr := make(chan error, 1)
	if stdin != nil {
		// Not waited for: a Stdin that blocks must not hold up Run.
		go func() {
			// Once ctx ends the input stops, without an end of
			// file, so the command never sees a truncated input
			// as complete.
			r := &readErr{r: ctxReader{ctx, cmd.Stdin}}
			io.Copy(stdin, r)
			if r.err != nil {
				// Incomplete input: the command is killed, not
				// given an end of file.
				stdinErr <- r.err
				return
			}
			stdin.Close()
		}()
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	var err error
	select {
	case err = <-done:
	case rerr := <-stdinErr:
		t.stop(c, sess, stderr, done)
		if ctx.Err() != nil {
			return opErr(ctx.Err())
		}
		return opErr(fmt.Errorf("reading standard input: %w", rerr))
	case <-ctx.Done():
		t.stop(c, sess, stderr, done)
		return opErr(ctx.Err())
	case <-t.closing:
		t.stop(c, sess, stderr, done)
		return opErr(transport.ErrClosed)
	}
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return opErr(&transport.ExitError{
			Host:    host,
			Command: cmd.String(),
			Code:    ee.ExitStatus(),
			Signal:  ee.Signal(),
			Stderr:  tail.Bytes(),
		})
	case errors.As(err, &missing):
		return opErr(c.lostErr(errors.New("no exit status (connection lost?)")))
	}
	return opErr(c.lostErr(err))
}

// errNoCancelReply is why a connection is closed when its host did not
// answer the cancellation of a command in time.
var errNoCancelReply = errors.New("host did not answer the cancellation of a command in time")

// stop runs kill, but never for longer than killDeadline: a host that does
// not answer (frozen, or a silent network) could hold every request kill
// makes, and the session's Close, forever. Past the deadline the connection
// is closed, which ends every request on it at once; its other sessions
// fail as lost, as they would a little later by keepalive, and the next use
// of the host dials again.
func (t *Transport) stop(c *conn, sess *ssh.Session, stderr *pidFilter, done <-chan error) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t.kill(c, sess, stderr, done)
	}()
	tm := time.NewTimer(killDeadline)
	defer tm.Stop()
	select {
	case <-finished:
	case <-tm.C:
		c.fail(errNoCancelReply)
		<-finished
	}
}

// kill stops a running command and waits for its session to end. It sends
// SIGTERM, then SIGKILL, to the command's process group with signal
// requests; sshd refuses those for forced commands and before OpenSSH 7.9,
// so when the session has not ended soon after, it also runs kill on the
// wrapper's process group through a second session.
func (t *Transport) kill(c *conn, sess *ssh.Session, stderr *pidFilter, done <-chan error) {
	tm := time.NewTimer(signalWait)
	defer tm.Stop()
	wait := func(d time.Duration) bool {
		tm.Reset(d)
		select {
		case <-done:
			return true
		case <-tm.C:
			return false
		}
	}
	sess.Signal(ssh.SIGTERM)
	if wait(signalWait) {
		return
	}
	sess.Signal(ssh.SIGKILL)
	if wait(signalWait) {
		return
	}
	var pid string
	select {
	case pid = <-stderr.pid:
	default:
	}
	if _, err := strconv.Atoi(pid); err == nil && c.alive() {
		if ks, err := c.client.NewSession(); err == nil {
			ks.Run("kill -TERM -" + pid + " 2>/dev/null; sleep 1; kill -KILL -" + pid + " 2>/dev/null")
			ks.Close()
		}
	}
	if !wait(killGrace) {
		sess.Close()
		<-done
	}
}

// readErr records the error, other than io.EOF, of a reader.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// pidFilter passes standard error on to w, less the wrapper's pid line,
// whose number it sends on pid. Lines before it (a login shell's noise)
// pass through.
type pidFilter struct {
	w     io.Writer
	pid   chan string
	found bool
	line  []byte
}

func (f *pidFilter) Write(p []byte) (int, error) {
	if f.found {
		return f.w.Write(p)
	}
	n := len(p)
	for len(p) > 0 && !f.found {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.line = append(f.line, p...)
			p = nil
			if len(f.line) > 4096 {
				f.found = true // no marker: give up
				if _, err := f.w.Write(f.line); err != nil {
					return n, err
				}
			}
			break
		}
		f.line = append(f.line, p[:i+1]...)
		p = p[i+1:]
		if pid, ok := bytes.CutPrefix(bytes.TrimSuffix(f.line, []byte("\n")), []byte(pidMarker)); ok {
			f.found = true
			f.pid <- string(pid)
		} else if _, err := f.w.Write(f.line); err != nil {
			return n, err
		}
		f.line = f.line[:0]
	}
	if len(p) > 0 {
		if _, err := f.w.Write(p); err != nil {
			return n, err
		}
	}
	return n, nil
}
