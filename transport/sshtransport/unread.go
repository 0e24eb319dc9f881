package sshtransport

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"

	"dproc/transport"
)

// countingWrapper is wrapper for a command whose unread input Run counts
// (Command.Unread). The wrapper stays the job's parent instead of becoming
// the job: it runs the job in the background with the session's standard
// input, and forwards TERM and HUP, which sshd's signal requests deliver to
// the wrapper, to the whole process group at once (SIGKILL reaches the
// group through the kill of Run's cancellation). Once the job has exited by
// itself the wrapper reads the rest of its standard input to end of file,
// counting it, writes the count as a last line of standard error after a
// NUL byte and the marker ($2), and exits with the job's status: a
// status of 129 to 143 (signals 1 to 15, whose default action ends a
// process) is rendered by killing the wrapper with that signal, so that
// the session reports it as a signal. A shell cannot tell a job killed by
// signal N from one that exited with 128+N, so such an exit is reported as
// the signal too (ExitError.Code is 128+N either way, Signal differs).
// Higher statuses are returned as they are: re-raising STOP, TSTP, TTIN or
// TTOU would stop the wrapper instead of ending it. The job, being run in
// the background by a non-interactive shell, starts with SIGINT and SIGQUIT
// ignored; cancellation uses TERM and KILL, which it does not ignore.
const countingWrapper = `_dproc_p=$PPID _dproc_j=$$ _dproc_m=$2
echo ` + pidMarker + `$$ >&2
` + watchLoop + watchKill + `
exec 3<&0
trap 'trap "" TERM HUP; kill -TERM 0; exit 143' TERM
trap 'trap "" TERM HUP; kill -HUP 0; exit 129' HUP
{ eval "unset _dproc_p _dproc_j _dproc_m; shift \$#; $1"; } <&3 3<&- &
exec 3<&-
wait $!
_dproc_s=$?
_dproc_n=$(wc -c) && printf '\000%s%s\n' "$_dproc_m" "$((_dproc_n))" >&2
trap - TERM HUP
case $_dproc_s in 129|13[0-9]|14[0-3]) kill -s "$(kill -l "$_dproc_s")" $$;; esac 2>/dev/null
exit "$_dproc_s"`

// countingCommand is remoteCommand for a command whose unread input is
// counted: countingWrapper, with marker as its second argument.
func countingCommand(cmd *transport.Command, marker string) string {
	return "exec /bin/sh -c " + loginQuote(countingWrapper) + " dproc-wrap " + loginQuote(sessionScript(cmd)) + " " + loginQuote(marker)
}

// unreadMarker marks the count of unread input on standard error. It is
// drawn at random once per process, so that no command's standard error
// holds it by chance; a count is taken only from the very end of the
// stream besides. On the stream it follows a NUL byte (trailerLead).
var unreadMarker = func() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "dproc-unread-" + hex.EncodeToString(b[:]) + "="
}()

// counts reports whether Run counts the unread input of cmd on the host.
func counts(cmd *transport.Command) bool {
	return cmd.Unread != nil && cmd.Stdin != nil
}

// resetUnread stores "cannot tell" in cmd.Unread until Run knows better.
func resetUnread(cmd *transport.Command) {
	if cmd != nil && cmd.Unread != nil {
		*cmd.Unread = -1
	}
}

// countStderr puts a trailerFilter in front of *w, the writer standard
// error goes to past the pid line, when Run counts cmd's unread input, and
// returns it (nil otherwise).
func countStderr(cmd *transport.Command, w *io.Writer) *trailerFilter {
	if !counts(cmd) {
		return nil
	}
	f := &trailerFilter{w: *w, marker: []byte(trailerLead + unreadMarker)}
	*w = f
	return f
}

// store ends standard error, all of which has arrived, and stores in
// cmd.Unread the count the wrapper reported when the command exited by
// itself (exited), or 0 for a command without Stdin. f may be nil.
func (f *trailerFilter) store(cmd *transport.Command, exited bool) {
	if f == nil {
		if exited && cmd.Unread != nil {
			*cmd.Unread = 0 // no Stdin
		}
		return
	}
	if n, ok := f.flush(); ok && exited {
		*cmd.Unread = n
	}
}

// trailerLead is the byte the trailer starts with. The trailer needs no
// line of its own (it is taken from the very end of the stream only), so it
// starts with a byte that a command's standard error hardly ever ends a
// write with: trailerFilter holds back the end of a write that could be the
// start of the trailer, and a newline there would cut nearly every line a
// command writes in two, its newline passed on only with the next write or
// once the command has exited, after other commands' lines.
const trailerLead = "\x00"

// trailerFilter passes standard error on to w, less the count of unread
// input that countingWrapper writes last: marker (trailerLead and the
// wrapper's marker), digits and a newline. It holds back the end of what it
// was given for as long as that end could still be the start of such a
// line, which it can only when it starts with trailerLead, and flush
// decides at the end of the stream: the held bytes are the count when they
// are a whole such line, and otherwise the command's, and passed on.
type trailerFilter struct {
	w      io.Writer
	marker []byte
	hold   []byte
}

// maxCountDigits bounds the digits of a count (an int64).
const maxCountDigits = 19

func (f *trailerFilter) Write(p []byte) (int, error) {
	n := len(p)
	if len(f.hold) > 0 {
		p = append(f.hold, p...)
		f.hold = nil
	}
	// Only a trailerLead this close to the end can start the trailer.
	from := max(0, len(p)-(len(f.marker)+maxCountDigits+1))
	cut := len(p)
	for i := from; i < len(p); i++ {
		if p[i] == f.marker[0] && f.candidate(p[i:]) {
			cut = i
			break
		}
	}
	f.hold = append([]byte(nil), p[cut:]...)
	if cut > 0 {
		if _, err := f.w.Write(p[:cut]); err != nil {
			return n, err
		}
	}
	return n, nil
}

// candidate reports whether b, which starts with trailerLead, may be the
// start of the trailer or the whole of it.
func (f *trailerFilter) candidate(b []byte) bool {
	if len(b) <= len(f.marker) {
		return bytes.Equal(b, f.marker[:len(b)])
	}
	if !bytes.Equal(b[:len(f.marker)], f.marker) {
		return false
	}
	digits := b[len(f.marker):]
	if digits[len(digits)-1] == '\n' {
		digits = digits[:len(digits)-1]
		if len(digits) == 0 {
			return false
		}
	}
	if len(digits) > maxCountDigits {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// flush ends the stream: it returns the count when the held bytes are the
// whole trailer, and passes them on otherwise.
func (f *trailerFilter) flush() (int64, bool) {
	h := f.hold
	f.hold = nil
	if len(h) > len(f.marker)+1 && h[len(h)-1] == '\n' && f.candidate(h) {
		if n, err := strconv.ParseInt(string(h[len(f.marker):len(h)-1]), 10, 64); err == nil {
			return n, true
		}
	}
	if len(h) > 0 {
		_, _ = f.w.Write(h)
	}
	return -1, false
}
