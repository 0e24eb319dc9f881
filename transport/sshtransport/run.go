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

	"dproc/internal/iox"
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
` + watchLoop + watchKill + `
eval "unset _dproc_p _dproc_j; shift; $1"`

// watchLoop and watchKill are the watcher of the wrappers (see wrapper),
// in two parts, so that a wrapper can put a cleanup of its own between
// them: watchLoop polls, once a second, the parent sshd ($_dproc_p) and the
// wrapper ($_dproc_j) until either is gone; watchKill then exits if the
// wrapper is gone, and otherwise (sshd gone) kills the process group, TERM
// and then KILL. The watcher runs in the background with its standard
// streams on /dev/null.
const (
	watchLoop = `(while kill -0 $_dproc_p 2>/dev/null && kill -0 $_dproc_j 2>/dev/null; do sleep 1; done
`
	watchKill = `kill -0 $_dproc_j 2>/dev/null || exit 0
trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0) </dev/null >/dev/null 2>&1 &`
)

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

// jobScript is the POSIX sh script for cmd: Env exported, Dir entered (read
// by hostPath: "~" is the home directory, "~/x" its x), then the command
// (exec'd when it is an argument vector).
func jobScript(cmd *transport.Command) string {
	return envScript(cmd) + commandScript(cmd)
}

// envScript is the line that exports cmd.Env, or "" without Env.
func envScript(cmd *transport.Command) string {
	if len(cmd.Env) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("export")
	for _, kv := range cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString(" " + k + "=" + transport.Quote(v))
	}
	b.WriteString("\n")
	return b.String()
}

// commandScript is jobScript without the Env.
func commandScript(cmd *transport.Command) string {
	var b strings.Builder
	// Run has checked Dir; the home directory itself needs no cd.
	if dir, err := hostPath(cmd.Dir); err == nil && dir != "" && dir != "." {
		b.WriteString("cd " + transport.Quote(dir) + " || exit\n")
	}
	if cmd.Shell != "" {
		b.WriteString(cmd.Shell)
	} else {
		b.WriteString("exec " + transport.QuoteArgs(cmd.Args))
	}
	return b.String()
}

// sessionScript is jobScript for a session of its own, which gets it on
// its command line, where the host's process list shows it to every user.
// So the Env values are not in it: the script reads their export line
// (envScript) from the first lines of standard input, where Run sends it
// before cmd.Stdin, and evaluates it; the command reads standard input from
// there on.
func sessionScript(cmd *transport.Command) string {
	env := envScript(cmd)
	if env == "" {
		return commandScript(cmd)
	}
	return "_dproc_n=" + strconv.Itoa(strings.Count(env, "\n")) + " _dproc_e=\n" +
		"while [ \"$_dproc_n\" -gt 0 ] && IFS= read -r _dproc_l; do _dproc_e=\"$_dproc_e$_dproc_l\n\"; _dproc_n=$((_dproc_n - 1)); done\n" +
		"[ \"$_dproc_n\" -eq 0 ] || { echo 'dproc: the environment did not arrive on standard input' >&2; exit 125; }\n" +
		"eval \"$_dproc_e\"; unset _dproc_n _dproc_e _dproc_l\n" + commandScript(cmd)
}

// remoteCommand is the string sent in the exec request: the wrapper and the
// job script, quoted for any login shell and run by /bin/sh.
func remoteCommand(cmd *transport.Command) string {
	if counts(cmd) {
		return countingCommand(cmd, unreadMarker)
	}
	return "exec /bin/sh -c " + loginQuote(wrapper) + " dproc-wrap " + loginQuote(sessionScript(cmd))
}

// Run runs cmd on host. See [transport.Transport.Run].
//
// The command runs under /bin/sh through a small wrapper, whatever the
// user's login shell. Command.Dir "~" is the home directory and "~/x" its
// entry x; "~user" is refused with an error matching [transport.ErrInvalid].
//
// Cancelling ctx, or Close, stops feeding standard input (no end of file is
// sent) and kills the command's process group, SIGTERM then SIGKILL; if the
// connection drops, the wrapper kills the group itself. A read error from
// cmd.Stdin kills the command the same way and is returned, so a command
// never mistakes a truncated input for a whole one.
//
// A cancelled Run waits for its host only while the host answers. Along
// with the kill it sends a keepalive request; once either is answered, Run
// returns when the command has ended on the host, so a live host is left
// no worker. A host that has answered neither within half a second (a
// frozen sshd, a silent network) is not waited for, nor at all when it has
// left an earlier request on the connection (a keepalive, a Ping) without
// an answer or any other byte for half a second already: Run returns
// ctx's error, and the kill goes on in the background, as it would have
// gone on in Run. It holds the session slot until it is done, and closes
// the connection when the host has still not answered about four seconds
// later; the wrapper then kills the command once the host runs again.
// Close waits for that background work. The same holds when ctx ends
// while the session is being opened or the command started: a command
// that starts after Run has returned is killed at once. Nothing is written
// to cmd.Stdout or cmd.Stderr once Run has returned (what arrives later is
// dropped); a Write in progress is waited for.
//
// When the command exits by itself, Run stops reading cmd.Stdin and waits
// for a Read in progress to return before it returns itself, as os/exec's
// Wait does: input the command did not read is left unread, and once Run
// has returned it never reads cmd.Stdin again. A Read that blocks (a pipe
// nobody writes to) holds Run until it returns or ctx ends, unless cmd.Stdin
// has read deadlines (an *os.File pipe or FIFO, a net.Conn): such a Read is
// interrupted at once, with the deadline set to the present, and the
// reader's deadline is cleared afterwards. An error from cmd.Stdin other
// than that interruption is returned when the command otherwise succeeded.
// When Run returns early instead (ctx ended, the host was lost, Close), one
// Read of cmd.Stdin in progress may still return after Run has returned; no
// Read starts after that one.
func (t *Transport) Run(ctx context.Context, host string, cmd *transport.Command) error {
	resetUnread(cmd)
	opErr := t.opErr(ctx, "run", host, "")
	if host == "" {
		return opErr(errEmptyHost)
	}
	if err := cmd.Validate(); err != nil {
		return opErr(err)
	}
	if _, err := hostPath(cmd.Dir); err != nil {
		return opErr(err)
	}
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return opErr(err)
	}
	defer end()
	if t.reusable(cmd) {
		if ok, err := t.runReused(ctx, host, cmd, opErr); ok {
			return err
		}
	}
	rc := &remoteCmd{t: t, p: t.pool(host), stderr: &pidFilter{pid: make(chan string, 1)}}
	var tail transport.Tail
	stdout, stderr := rc.callerWriters(cmd, &tail)
	rc.stderr.w = stderr
	trailer := countStderr(cmd, &rc.stderr.w)
	launched := make(chan error, 1)
	header := envScript(cmd) // sent ahead of cmd.Stdin: see sessionScript
	line, hasStdin := remoteCommand(cmd), cmd.Stdin != nil || header != ""
	go func() { launched <- rc.launch(ctx, line, hasStdin, stdout) }()
	select {
	case err = <-launched:
	case <-ctx.Done():
		var ok bool
		if ok, err = rc.awaitLaunch(launched); !ok {
			return opErr(ctx.Err())
		}
	}
	if err != nil {
		return opErr(err)
	}
	c := rc.c
	cleanup := true // cleared when the cancellation takes the session over
	defer func() {
		if cleanup {
			rc.release()
		}
	}()
	// The reading of cmd.Stdin ends with the call, or once the command
	// has exited (with cause errCommandExited).
	inCtx, stopInput := context.WithCancelCause(ctx)
	defer stopInput(nil)
	var copied chan error // the copier's read error, or nil
	if rc.stdin != nil {
		copied = make(chan error, 1)
		go func() {
			if header != "" {
				// A write error means the command is gone, as in
				// copyStdin: Run learns why from the session.
				if _, err := io.WriteString(rc.stdin, header); err != nil {
					copied <- nil
					return
				}
			}
			if cmd.Stdin == nil {
				rc.stdin.Close()
				copied <- nil
				return
			}
			copied <- copyStdin(inCtx, rc.stdin, cmd.Stdin)
		}()
	}

wait:
	for {
		select {
		case err = <-rc.done:
			break wait
		case rerr := <-copied:
			copied = nil
			if rerr == nil {
				continue // all of it sent, or the command stopped reading
			}
			cleanup = false
			rc.cancel()
			if ctx.Err() != nil {
				return opErr(ctx.Err())
			}
			return opErr(fmt.Errorf("reading standard input: %w", rerr))
		case <-ctx.Done():
			stopInput(nil)
			cleanup = false
			rc.cancel()
			return opErr(ctx.Err())
		}
	}
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	exited := err == nil || errors.As(err, &ee)
	trailer.store(cmd, exited)
	var inputErr error
	if exited && copied != nil {
		// The command exited by itself: finish with cmd.Stdin first.
		stopInput(errCommandExited)
		select {
		case rerr := <-copied:
			if rerr != nil && !errors.Is(rerr, errCommandExited) {
				inputErr = rerr
			}
		case <-ctx.Done():
			return opErr(ctx.Err())
		}
	}
	switch {
	case err == nil && inputErr != nil:
		return opErr(fmt.Errorf("reading standard input: %w", inputErr))
	case err == nil:
		return nil
	case ee != nil:
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

// errCommandExited is why Run stops reading Command.Stdin once the command
// has exited by itself.
var errCommandExited = errors.New("command exited")

// copyStdin copies src to w, the session's standard input, until src ends,
// ctx ends or the session stops taking input. It closes w (the command sees
// end of file) only when all of src was sent. A read error from src is
// returned, with w left open, so the command never takes a truncated input
// for a whole one; when ctx has ended, the error matches ctx's cause. A
// source with read deadlines has its blocked Read interrupted when ctx ends.
func copyStdin(ctx context.Context, w io.WriteCloser, src io.Reader) error {
	if d, ok := src.(iox.ReadDeadliner); ok {
		if stop, ok := iox.InterruptReads(ctx, d); ok {
			defer stop()
		}
	}
	r := &readErr{r: iox.NewContextReader(ctx, src)}
	_, werr := io.Copy(w, r)
	if r.err != nil {
		return r.err
	}
	if werr == nil {
		w.Close()
	}
	return nil
}

// errNoCancelReply is why a connection is closed when its host did not
// answer the cancellation of a command in time.
var errNoCancelReply = errors.New("host did not answer the cancellation of a command in time")

// stop runs kill, but never for longer than killDeadline: a host that does
// not answer (frozen, or a silent network) could hold every request kill
// makes, and the session's Close, forever. Past the deadline the connection
// is closed, which ends every request on it at once; its other sessions
// fail as lost, as they would a little later by keepalive, and the next use
// of the host dials again. For a host that does not answer, stop runs in
// the background once Run has returned (see remoteCmd.cancel).
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
