package localtransport

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// watcherScript is run by the watcher, a POSIX shell started before the
// first command of a Transport, with the Transport's token as $1. It reads
// "+PGID" and "-PGID" lines from a pipe whose only writer is this process,
// keeping the set of process groups of running commands; "q" (sent by
// Close) makes it exit. At the end of its input without "q", which comes
// when this process dies in any way (SIGKILL included, since the kernel
// closes the pipe), it kills every group still in the set, then, twice (for
// children forked meanwhile), every process whose environment holds the
// token (Linux /proc; elsewhere the glob matches nothing): that catches a
// command started but not yet announced, and descendants that left their
// group. It ignores the signals a terminal sends, and runs in a process
// group of its own, so that a signal to the coordinator's group does not
// take it down first.
const watcherScript = `: dproc-localtransport-watcher
trap '' HUP INT QUIT
g=' '
while IFS= read -r l; do
	case $l in
	+*) g="$g${l#+} " ;;
	-*) p=${l#-}
		case $g in *" $p "*) g="${g%% $p *} ${g#* $p }" ;; esac ;;
	q) exit 0 ;;
	esac
done
for p in $g; do kill -s KILL -- "-$p" 2>/dev/null; done
for pass in 1 2; do
	for f in $(grep -lF -e "$1" /proc/[0-9]*/environ 2>/dev/null); do
		p=${f#/proc/}; p=${p%/environ}
		kill -s KILL -- "-$p" 2>/dev/null
		kill -s KILL "$p" 2>/dev/null
	done
done
`

// TokenEnv names the environment variable that every command of a
// Transport carries, set to a random token of that Transport, by which its
// watcher finds the processes to kill if this process dies.
const TokenEnv = "DPROC_LOCALTRANSPORT"

// watcher is a Transport's watcher process, started with its first command
// and stopped by Close.
type watcher struct {
	token   string // TokenEnv=value, set by newWatcher
	mu      sync.Mutex
	w       *os.File    // the write end of the watcher's standard input
	proc    *os.Process // nil until started
	failed  bool        // it could not be started, or died: go on without it
	stopped bool
}

func newWatcher() watcher {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return watcher{token: TokenEnv + "=" + hex.EncodeToString(b)}
}

// ensure starts the watcher if it is not running, before a command starts.
// If it cannot be started, commands run without it (see the package doc).
func (w *watcher) ensure(shell string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc == nil && !w.failed && !w.stopped {
		w.start(shell)
	}
}

// add tells the watcher that process group pgid runs a command.
func (w *watcher) add(pgid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.send("+" + strconv.Itoa(pgid) + "\n")
}

// remove tells the watcher that the command of group pgid has ended.
func (w *watcher) remove(pgid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.send("-" + strconv.Itoa(pgid) + "\n")
}

func (w *watcher) send(line string) {
	if w.w == nil {
		return
	}
	if _, err := w.w.WriteString(line); err != nil {
		// The watcher is gone (someone killed it): stop writing.
		w.closeLocked()
		w.failed = true
	}
}

func (w *watcher) start(shell string) {
	r, pw, err := os.Pipe()
	if err != nil {
		w.failed = true
		return
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		r.Close()
		pw.Close()
		w.failed = true
		return
	}
	// os.StartProcess makes no goroutine: the watcher is waited for by
	// stop, so none is left behind.
	proc, err := os.StartProcess(shell, []string{shell, "-c", watcherScript, "dproc-watcher", w.token}, &os.ProcAttr{
		Dir:   "/",
		Files: []*os.File{r, null, null},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	r.Close()
	null.Close()
	if err != nil {
		pw.Close()
		w.failed = true
		return
	}
	w.w, w.proc = pw, proc
}

// stop ends the watcher's input and waits for it to exit. Called by Close
// once every command has returned, so the watcher has no group to kill.
func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.send("q\n")
	w.closeLocked()
	if w.proc != nil {
		_, _ = w.proc.Wait()
		w.proc = nil
	}
}

func (w *watcher) closeLocked() {
	if w.w != nil {
		_ = w.w.Close()
		w.w = nil
	}
}
