package sshtransport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"dproc/internal/iox"
	"dproc/transport"
)

// This file holds session reuse (the default; Options.SessionPerCommand
// turns it off): a command whose input size is known (or that has no
// input) runs in a long-lived session that runs one command after another,
// instead of in a session of its own. Opening a session costs the host a
// few milliseconds of CPU (sshd, the login shell, the wrapper), and a
// session that carries a large input costs sshd more while its buffers
// grow (see the package doc); a reused session pays that once.
//
// The session runs runnerLoop under /bin/sh. For each command the client
// sends a header line "LINES INPUTLEN INLINES", the job script (jobScript)
// with a newline added, in LINES lines, and, when INPUTLEN >= 0, exactly
// INPUTLEN bytes of input. The loop reads the script with the shell's own
// read, so that taking a command starts no process (read could not carry a
// NUL byte, which Command.Validate refuses).
//
// The loop runs the script in a subshell. Its standard input is /dev/null
// without an input. With one, it is a pipe fed by "head -c INPUTLEN", or,
// when INLINES is not -1, by the shell's printf: the input was sent as
// INLINES lines (see send) and read with the shell's read. Its standard
// output and error are two FIFOs, each copied to the session's by a cat
// that lives as long as the session. The cat of standard output is given
// the FIFO names "o m o m ...": it copies the command's output until every
// process holding the FIFO has closed it, then opens m, into which the loop
// writes the end mark. The loop's write blocks until the cat gets there, so
// the end mark follows all output of the command and of any process it
// left behind with its output open, as sshd ends a session only once every
// writer has closed it; a process left behind with its output elsewhere is
// not waited for, as in a session of its own. Standard error works the same
// way with e and n. The cats' name lists are catNames commands long; the
// loop starts new cats when they run out. If the loop dies (a command
// killed it), the watcher stops the cats, so that the session ends.
//
// A command costs the host one fork. An input costs a few more, and through
// head also head and a wc -c that counts and drains what the command left
// unread (so that the next header is where the loop expects it); an input
// in lines is counted and drained with read and ${#var} under LC_ALL=C. A
// shell whose ${#var} counts characters even then answers "ready" rather
// than "ready inline" when the loop starts, and gets every input through
// head. An exit status of 256 or more (ksh93 reports a signal as 256+N) is
// turned into the usual 128+N.
//
// On standard error the end mark is alone on its line; on standard output
// it is followed by the exit status, the unread count and the signal name
// (or "-"). An end mark is a NUL byte, a token drawn at random for the
// session and a colon; demux cuts each stream at it.
//
// A cancelled command (ctx ended, a read error from its input) ends its
// session: it is stopped as a one-off session is (Transport.stop), and the
// next command opens a new one. A session whose shell cannot run the loop
// answers "fail" instead of "ready", and the host's commands then each get
// a session of their own: yash (its $! names a subshell, not the
// background cat, which the loop could then not stop), posh (its $! is
// sometimes garbage after a few commands), a host without
// head, wc, cat or mkfifo, or without a temporary directory.

// catNames is how many commands one pair of the loop's cats serves (the
// loop's $2); a variable so that a test can make the loop start new cats
// often. Longer lists cost more to build and to exec at every session's
// start (1024 measured slower than 128 for short runs); shorter ones
// restart the cats more often.
var catNames = 128

// runnerLoop is the loop a reused session runs; $1 is its token and $2
// is catNames. It keeps the session's standard input on descriptor 4,
// since a command run in the background (as the job is, so that TERM and
// HUP are handled at once, as countingWrapper does) gets /dev/null as its
// standard input. _dproc_job runs the command ($_dproc_s) in a subshell
// that sees nothing of the loop; _dproc_c starts the cats and notes their
// pids in the file c; _dproc_r N reads N lines of the session into
// $_dproc_v, each with its newline (the script, then a small input);
// _dproc_w F FORMAT ARGS writes an end mark into the FIFO F (see below).
// The watcher is the one of wrapper; once the loop is gone it also stops
// the cats and removes the loop's temporary directory.
// After a command, "<>" opens each FIFO without blocking and closes it: a
// cat still waiting to open a FIFO the command never opened (its
// redirection failed) is let through to its end-mark FIFO, and in any
// other state this does nothing. An end mark's FIFO is opened again when
// the open fails: busybox ash does not restart an open that a signal
// interrupts, and a cat that exits at the end of its list (SIGCHLD) while
// the loop waits to open the other mark's FIFO would otherwise lose that
// mark, and hang the session at the cats' restart (seen under CPU load).
// After 64 failed opens (the directory is gone) the loop exits, which ends
// the session, rather than spin.
const runnerLoop = `_dproc_t=$1 _dproc_m=$2 _dproc_p=$PPID _dproc_j=$$
[ -z "${YASH_VERSION-}" ] || { printf '\000%s: fail yash: $! does not name a background command\n' "$_dproc_t"; exit 1; }
[ -z "${POSH_VERSION-}" ] || { printf '\000%s: fail posh: $! is unreliable\n' "$_dproc_t"; exit 1; }
_dproc_d=$(mktemp -d "${TMPDIR:-/tmp}/dproc-run.XXXXXXXX") || { printf '\000%s: fail cannot make a temporary directory\n' "$_dproc_t"; exit 1; }
command -v head >/dev/null && command -v wc >/dev/null && command -v cat >/dev/null && mkfifo "$_dproc_d/o" "$_dproc_d/e" "$_dproc_d/m" "$_dproc_d/n" 2>/dev/null || { rm -rf "$_dproc_d"; printf '\000%s: fail head, wc, cat or mkfifo missing\n' "$_dproc_t"; exit 1; }
echo ` + pidMarker + `$$ >&2
` + watchLoop + `[ ! -d "$_dproc_d" ] || { read -r _dproc_o _dproc_e <"$_dproc_d/c" && kill $_dproc_o $_dproc_e 2>/dev/null; rm -rf "$_dproc_d"; }
` + watchKill + `
trap 'trap "" TERM HUP; kill -TERM 0; rm -rf "$_dproc_d"; exit 143' TERM
trap 'trap "" TERM HUP; kill -HUP 0; rm -rf "$_dproc_d"; exit 129' HUP
exec 4<&0
_dproc_job() { (eval "unset -f _dproc_job _dproc_c _dproc_r _dproc_w; unset _dproc_t _dproc_m _dproc_p _dproc_j _dproc_d _dproc_n _dproc_i _dproc_s _dproc_l _dproc_k _dproc_x _dproc_u _dproc_g _dproc_o _dproc_e _dproc_h _dproc_v _dproc_f _dproc_a; set --; $_dproc_s"); }
_dproc_c() {
set -- "$_dproc_d/o" "$_dproc_d/m"; while [ $# -lt $((2 * _dproc_m)) ]; do set -- "$@" "$@"; done; shift $(($# - 2 * _dproc_m))
cat "$@" </dev/null 4<&- & _dproc_o=$!
set -- "$_dproc_d/e" "$_dproc_d/n"; while [ $# -lt $((2 * _dproc_m)) ]; do set -- "$@" "$@"; done; shift $(($# - 2 * _dproc_m))
cat "$@" >&2 </dev/null 4<&- & _dproc_e=$!
echo "$_dproc_o $_dproc_e" >"$_dproc_d/c"
_dproc_k=0
}
_dproc_w() { _dproc_f=$1 _dproc_a=0; shift; until { printf "$@" >"$_dproc_d/$_dproc_f"; } 2>/dev/null; do _dproc_a=$((_dproc_a + 1)); [ $_dproc_a -lt 64 ] || exit 1; done; }
_dproc_r() { _dproc_v=; while [ "$1" -gt 0 ]; do IFS= read -r _dproc_l <&4 || return 1; _dproc_v=$_dproc_v$_dproc_l'
'; set -- $(($1 - 1)); done; }
_dproc_c
_dproc_l=$(printf '\303\251'); (LC_ALL=C; [ ${#_dproc_l} -eq 2 ]) && _dproc_l=' inline' || _dproc_l=
printf '\000%s: ready%s\n' "$_dproc_t" "$_dproc_l"
while IFS=' ' read -r _dproc_n _dproc_i _dproc_h; do
_dproc_r "$_dproc_n" || break
_dproc_s=${_dproc_v%?}
if [ "$_dproc_i" -lt 0 ]; then
_dproc_job </dev/null >"$_dproc_d/o" 2>"$_dproc_d/e" 4<&- &
elif [ "$_dproc_h" -ge 0 ]; then
_dproc_r "$_dproc_h" || break
: >"$_dproc_d/u"
printf %s "$_dproc_v" 4<&- | { _dproc_job; _dproc_x=$?; LC_ALL=C; _dproc_u=0; while IFS= read -r _dproc_l; do _dproc_u=$((_dproc_u + ${#_dproc_l} + 1)); done; echo $((_dproc_u + ${#_dproc_l})) >"$_dproc_d/u"; exit $_dproc_x; } >"$_dproc_d/o" 2>"$_dproc_d/e" 4<&- &
else
: >"$_dproc_d/u"
{ head -c "$_dproc_i" <&4 4<&- | { _dproc_job; _dproc_x=$?; wc -c >"$_dproc_d/u"; exit $_dproc_x; } 4<&-; } >"$_dproc_d/o" 2>"$_dproc_d/e" &
fi
wait $!; _dproc_x=$?
[ "$_dproc_x" -lt 256 ] || _dproc_x=$((_dproc_x % 128 + 128))
: <>"$_dproc_d/o"; : <>"$_dproc_d/e"
_dproc_u=0
[ "$_dproc_i" -lt 0 ] || read -r _dproc_u <"$_dproc_d/u" || _dproc_u=-1
_dproc_g=-
[ "$_dproc_x" -gt 128 ] && _dproc_g=$(kill -l "$_dproc_x" 2>/dev/null) || :
_dproc_w n '\000%s:\n' "$_dproc_t"
_dproc_w m '\000%s: %s %s %s\n' "$_dproc_t" "$_dproc_x" "$_dproc_u" "${_dproc_g:--}"
_dproc_k=$((_dproc_k + 1))
[ $_dproc_k -lt $_dproc_m ] || { wait $_dproc_o $_dproc_e; _dproc_c; }
done <&4
kill $_dproc_o $_dproc_e 2>/dev/null
rm -rf "$_dproc_d"`

// runnerIdle is how long an idle reused session stays open.
const runnerIdle = 30 * time.Second

// errNoRunner says that the host cannot run runnerLoop: Run gives the
// command a session of its own.
var errNoRunner = errors.New("host cannot reuse sessions")

// ownSessionInput is the input size from which a command gets a session
// of its own even when sessions are reused: past it, the loop's copies of
// the input and output (head -c, the FIFOs and cats) cost the host more
// than a new session does. Measured on a 2-core Intel Xeon VM, 256 MiB
// through "tr a-z A-Z" on three sshd nodes, reused against a session per
// command: chunks of 4 MiB 1.44-1.49 s against 2.62-2.78 s, 8 MiB
// 1.32-1.45 s against 1.70-1.73 s, 16 MiB 1.32-1.34 s against 1.27-1.28 s,
// 32 MiB 1.31-1.45 s against 1.09-1.17 s.
const ownSessionInput = 16 << 20

// reusable reports whether Run carries cmd in a reused session.
func (t *Transport) reusable(cmd *transport.Command) bool {
	if t.opts.SessionPerCommand {
		return false
	}
	return cmd.Stdin == nil || (cmd.InputSize > 0 && cmd.InputSize < ownSessionInput)
}

// runner is a reused session running runnerLoop.
type runner struct {
	rc   *remoteCmd
	out  *demux // the session's standard output
	errd *demux // its standard error, past the pid line
	dead chan struct{}
	werr error // the session's Wait result, set before dead is closed

	inline bool // the loop takes small inputs in lines (see send)

	timer *time.Timer // closes the runner once idle for runnerIdle; guarded by the pool's mu
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "dproc-run-" + hex.EncodeToString(b[:])
}

// alive reports whether the runner's session is still open.
func (r *runner) alive() bool {
	select {
	case <-r.dead:
		return false
	default:
		return r.rc.c.alive()
	}
}

// runnerEndWait bounds how long close waits for an idle runner's session
// to end.
const runnerEndWait = 2 * time.Second

// close ends an idle runner: it sends end of file, which ends the loop at
// its read of the next header, waits (runnerEndWait at most) for the
// session to end, so that the server no longer counts it against its
// MaxSessions, and gives the slot back.
func (r *runner) close() {
	r.rc.stdin.Close()
	tm := time.NewTimer(runnerEndWait)
	select {
	case <-r.dead:
	case <-tm.C:
	case <-r.rc.t.closing:
	}
	tm.Stop()
	r.rc.release()
}

// takeRunner returns an idle runner of the host or starts one. It returns
// errNoRunner when the host cannot run the loop.
func (p *hostPool) takeRunner(ctx context.Context) (*runner, error) {
	p.mu.Lock()
	if p.noRunner {
		p.mu.Unlock()
		return nil, errNoRunner
	}
	for len(p.idle) > 0 {
		r := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		r.timer.Stop()
		if r.alive() {
			p.mu.Unlock()
			return r, nil
		}
		p.mu.Unlock()
		r.close()
		p.mu.Lock()
	}
	p.mu.Unlock()
	return p.startRunner(ctx)
}

// startRunner opens a session and starts runnerLoop in it.
func (p *hostPool) startRunner(ctx context.Context) (*runner, error) {
	token := newToken()
	mark := "\x00" + token + ":"
	rc := &remoteCmd{t: p.t, p: p, stderr: &pidFilter{pid: make(chan string, 1)}}
	r := &runner{rc: rc, out: newDemux(mark), errd: newDemux(mark), dead: make(chan struct{})}
	rc.stderr.w = r.errd
	launched := make(chan error, 1)
	line := "exec /bin/sh -c " + loginQuote(runnerLoop) + " dproc-run " + token + " " + strconv.Itoa(catNames)
	go func() { launched <- rc.launch(ctx, line, true, r.out) }()
	var err error
	select {
	case err = <-launched:
	case <-ctx.Done():
		var ok bool
		if ok, err = rc.awaitLaunch(launched); !ok {
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	// The session's end is watched here; stop and kill read the result
	// from rc.done, as for a session of its own.
	waited := rc.done
	rc.done = make(chan error, 1)
	if !p.t.spawn(func() {
		r.werr = <-waited
		close(r.dead)
		rc.done <- r.werr
	}) {
		rc.release()
		return nil, transport.ErrClosed
	}
	select {
	case f := <-r.out.ends:
		if f == " ready" || f == " ready inline" {
			r.inline = f == " ready inline"
			return r, nil
		}
		r.close()
		p.mu.Lock()
		p.noRunner = true
		p.mu.Unlock()
		return nil, errNoRunner
	case <-r.dead:
		rc.release()
		var ee *ssh.ExitError
		var missing *ssh.ExitMissingError
		if !rc.c.alive() || !errors.As(r.werr, &ee) && !errors.As(r.werr, &missing) {
			return nil, rc.c.lostErr(r.werr)
		}
		// The session ended, with or without an exit status, on a
		// connection that lives on: the login shell or the server
		// cannot run the loop.
		p.mu.Lock()
		p.noRunner = true
		p.mu.Unlock()
		return nil, errNoRunner
	case <-ctx.Done():
		rc.cancel()
		return nil, ctx.Err()
	}
}

// putRunner keeps an idle runner for the host's next command, for
// runnerIdle at most.
func (p *hostPool) putRunner(r *runner) {
	p.mu.Lock()
	if p.t.isClosed() || !r.alive() {
		p.mu.Unlock()
		r.close()
		return
	}
	p.idle = append(p.idle, r)
	r.timer = time.AfterFunc(runnerIdle, func() {
		if p.dropIdle(r) {
			r.close()
		}
	})
	if p.waiting > 0 {
		p.broadcast()
	}
	p.mu.Unlock()
}

// dropIdle removes r from the idle runners and reports whether it was
// there.
func (p *hostPool) dropIdle(r *runner) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == r {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}

// evictIdle closes the oldest idle runner, so that its session slot can
// serve someone else, and reports whether there was one. p.mu must be
// held; it is released and taken again.
func (p *hostPool) evictIdle() bool {
	if len(p.idle) == 0 {
		return false
	}
	r := p.idle[0]
	p.idle = p.idle[1:]
	r.timer.Stop()
	p.mu.Unlock()
	r.close()
	p.mu.Lock()
	return true
}

// runReused runs cmd in a reused session of host. It returns false when
// the host cannot reuse sessions; the caller then runs cmd in a session
// of its own.
func (t *Transport) runReused(ctx context.Context, host string, cmd *transport.Command, opErr func(error) error) (bool, error) {
	p := t.pool(host)
	p.mu.Lock()
	first := !p.ran
	p.ran = true
	p.mu.Unlock()
	if first {
		// A host's first command gets a session of its own: starting
		// the loop costs more than one session, which pays only when
		// more commands follow (one command on each of 100 hosts: 1.7 s
		// reused against 1.3 s, measured here).
		return false, nil
	}
	r, err := p.takeRunner(ctx)
	if errors.Is(err, errNoRunner) {
		return false, nil
	}
	if err != nil {
		return true, opErr(err)
	}
	return true, r.run(ctx, host, cmd, opErr)
}

// errShortInput is why a command of a reused session fails when its
// Stdin ends before Command.InputSize bytes.
var errShortInput = errors.New("standard input ended before Command.InputSize bytes")

// run runs one command in the runner, and gives the runner back to the
// pool when the command has ended by itself.
func (r *runner) run(ctx context.Context, host string, cmd *transport.Command, opErr func(error) error) error {
	rc := r.rc
	var tail transport.Tail
	stdout, stderr := rc.callerWriters(cmd, &tail)
	r.out.start(stdout)
	r.errd.start(stderr)
	script := jobScript(cmd)
	size := int64(-1)
	if cmd.Stdin != nil {
		size = cmd.InputSize
	}
	inCtx, stopInput := context.WithCancel(ctx)
	defer stopInput()
	sent := make(chan error, 1)
	go func() { sent <- r.send(inCtx, script, cmd.Stdin, size) }()

	var fields string
	gotOut, gotErr := false, false
	for !gotOut || !gotErr || sent != nil {
		select {
		case fields = <-r.out.ends:
			gotOut = true
		case <-r.errd.ends:
			gotErr = true
		case err := <-sent:
			sent = nil
			if err == nil {
				continue
			}
			if errors.Is(err, errSessionWrite) {
				continue // the session is gone: r.dead says how
			}
			// The input failed: the frame cannot be completed, so the
			// session goes with the command.
			rc.cancel()
			if ctx.Err() != nil {
				return opErr(ctx.Err())
			}
			return opErr(fmt.Errorf("reading standard input: %w", err))
		case <-r.dead:
			// Whatever the session sent is in: Wait returns once its
			// output has been copied.
			select {
			case fields = <-r.out.ends:
				gotOut = true
			default:
			}
			select {
			case <-r.errd.ends:
				gotErr = true
			default:
			}
			if gotOut && gotErr {
				if sent != nil {
					<-sent // ends with the session's input
				}
				sent = nil
				continue
			}
			rc.release()
			var ee *ssh.ExitError
			if errors.As(r.werr, &ee) {
				// The loop itself was killed or exited (a job that
				// killed its process group, say): report it as the
				// command's end, as a session of its own would.
				return opErr(&transport.ExitError{Host: host, Command: cmd.String(),
					Code: ee.ExitStatus(), Signal: ee.Signal(), Stderr: tail.Bytes()})
			}
			if r.werr == nil {
				return opErr(rc.c.lostErr(errors.New("the session ended before the command did")))
			}
			return opErr(rc.c.lostErr(r.werr))
		case <-ctx.Done():
			stopInput()
			rc.cancel()
			return opErr(ctx.Err())
		}
	}
	r.out.start(nil)
	r.errd.start(nil)
	werr := errors.Join(r.out.takeErr(), r.errd.takeErr())
	code, unread, sig, perr := parseEnd(fields)
	if perr != nil {
		rc.cancel()
		return opErr(rc.c.lostErr(perr))
	}
	rc.gates = rc.gates[:0]
	rc.p.putRunner(r)
	if cmd.Unread != nil {
		*cmd.Unread = unread
	}
	switch {
	case werr != nil:
		return opErr(werr)
	case code == 0:
		return nil
	}
	return opErr(&transport.ExitError{Host: host, Command: cmd.String(), Code: code, Signal: sig, Stderr: tail.Bytes()})
}

// errSessionWrite marks a failed write to the session's standard input.
var errSessionWrite = errors.New("writing to the session")

// inlineMax is the largest input the loop reads with the shell's read and
// gives the command through the shell's printf (see send); a larger one
// goes through head -c. Up to about this size, read's byte-at-a-time
// reading costs the host less than starting head and wc (measured here:
// about 1 ms of CPU for 4 KiB against 2 ms for the two processes).
const inlineMax = 4096

// send writes the command's frame to the session: the header, the script
// and size bytes of src (none when size < 0). An input of at most
// inlineMax bytes that holds no NUL byte and ends in a newline is read
// first and sent in lines, which the loop reads with the shell's read, so
// that the command starts no helper process; any other goes as raw bytes
// for head -c. A read error from src, or src ending early, is returned as
// it is; a write error wraps errSessionWrite.
func (r *runner) send(ctx context.Context, script string, src io.Reader, size int64) error {
	write := func(p []byte) error {
		if _, err := r.rc.stdin.Write(p); err != nil {
			return fmt.Errorf("%w: %w", errSessionWrite, err)
		}
		return nil
	}
	header := func(inLines int) []byte {
		return []byte(strconv.Itoa(strings.Count(script, "\n")+1) + " " + strconv.FormatInt(size, 10) + " " +
			strconv.Itoa(inLines) + "\n" + script + "\n")
	}
	if size <= 0 {
		return write(header(-1))
	}
	if d, ok := src.(iox.ReadDeadliner); ok {
		if stop, ok := iox.InterruptReads(ctx, d); ok {
			defer stop()
		}
	}
	cr := &readErr{r: iox.NewContextReader(ctx, src)}
	if size <= inlineMax {
		buf := make([]byte, size)
		n, err := io.ReadFull(cr, buf)
		switch {
		case cr.err != nil:
			return cr.err
		case err != nil:
			return fmt.Errorf("%w (%d of %d)", errShortInput, n, size)
		}
		lines := -1
		if r.inline && buf[len(buf)-1] == '\n' && bytes.IndexByte(buf, 0) < 0 {
			lines = bytes.Count(buf, []byte("\n"))
		}
		return write(append(header(lines), buf...)) // one write, one packet
	}
	if err := write(header(-1)); err != nil {
		return err
	}
	n, err := io.Copy(r.rc.stdin, io.LimitReader(cr, size))
	switch {
	case cr.err != nil:
		return cr.err
	case err != nil:
		return fmt.Errorf("%w: %w", errSessionWrite, err)
	case n < size:
		return fmt.Errorf("%w (%d of %d)", errShortInput, n, size)
	}
	return nil
}

// parseEnd reads the fields that follow a command's end mark on standard
// output: " STATUS UNREAD SIGNAL".
func parseEnd(f string) (code int, unread int64, sig string, err error) {
	parts := strings.Fields(f)
	if len(parts) != 3 {
		return 0, 0, "", fmt.Errorf("reused session: bad end of command %q", f)
	}
	if code, err = strconv.Atoi(parts[0]); err != nil {
		return 0, 0, "", fmt.Errorf("reused session: bad exit status %q", parts[0])
	}
	if unread, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return 0, 0, "", fmt.Errorf("reused session: bad unread count %q", parts[1])
	}
	if parts[2] != "-" && code > 128 {
		sig = parts[2]
	}
	return code, unread, sig, nil
}

// demux passes one output stream of a reused session to the current
// command's writer, and cuts it at each end mark: the rest of the line
// after the mark goes to ends. Between commands (no writer) output is
// dropped; the loop writes nothing then. A write error of the writer is
// kept for takeErr, and the stream goes on being read, so the session is
// not held up.
type demux struct {
	mark []byte
	ends chan string

	mu   sync.Mutex
	w    io.Writer
	err  error
	held []byte // the end of the last write, which may begin a mark
	line []byte // the text after a mark, until its newline
	in   bool   // reading the text after a mark
}

func newDemux(mark string) *demux {
	return &demux{mark: []byte(mark), ends: make(chan string, 2)}
}

// start sets the writer of the next command (nil between commands).
func (d *demux) start(w io.Writer) {
	d.mu.Lock()
	d.w, d.err = w, nil
	d.mu.Unlock()
}

// takeErr returns the first write error since start.
func (d *demux) takeErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *demux) emit(p []byte) {
	if len(p) == 0 || d.w == nil || d.err != nil {
		return
	}
	if _, err := d.w.Write(p); err != nil {
		d.err = err
	}
}

func (d *demux) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(p)
	if len(d.held) > 0 {
		p = append(d.held, p...)
		d.held = nil
	}
	for len(p) > 0 {
		if d.in {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				if len(d.line)+len(p) > 256 {
					return n, errors.New("reused session: end line too long")
				}
				d.line = append(d.line, p...)
				return n, nil
			}
			d.line = append(d.line, p[:i]...)
			p = p[i+1:]
			d.in = false
			select {
			case d.ends <- string(d.line):
			default:
				// More ends than commands: never block the session's
				// reader on it; the command sees the error.
				d.err = errors.Join(d.err, errors.New("reused session: unexpected end of command"))
			}
			d.line = d.line[:0]
			continue
		}
		if i := bytes.Index(p, d.mark); i >= 0 {
			d.emit(p[:i])
			p = p[i+len(d.mark):]
			d.in = true
			continue
		}
		k := partialMark(p, d.mark)
		d.emit(p[:len(p)-k])
		if k > 0 {
			d.held = append([]byte(nil), p[len(p)-k:]...)
		}
		return n, nil
	}
	return n, nil
}

// partialMark returns the length of the longest end of p that begins
// mark (shorter than mark).
func partialMark(p, mark []byte) int {
	from := max(len(p)-len(mark)+1, 0)
	for {
		i := bytes.IndexByte(p[from:], mark[0])
		if i < 0 {
			return 0
		}
		if bytes.HasPrefix(mark, p[from+i:]) {
			return len(p) - from - i
		}
		from += i + 1
	}
}
