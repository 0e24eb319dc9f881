package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"dproc/cmd/dproc/internal/progress"
	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/fold"
	"dproc/internal/human"
	"dproc/internal/iox"
	"dproc/internal/joblog"
	"dproc/transport"
)

// observer follows a run's events: it writes the joblog, remembers where
// each chunk runs (for --tag), keeps each attempt's standard error apart
// (--tag, --results) and feeds the progress display.
type observer struct {
	stderr  io.Writer
	label   func(chunk int) string
	command func(chunk int) string
	seq     func(chunk int) int64
	send    func(chunk int) int64
	tagOf   func(chunk int) string // argument mode: the tag of a chunk
	argMode bool
	tag     bool
	results string
	display display

	mu      sync.Mutex
	log     *joblog.Writer
	logFile *os.File
	started map[int]dispatch.Event // the last ChunkStarted of each chunk
	errs    map[[2]int]io.Closer   // per attempt stderr writers to close
	prefix  *fold.Prefixer         // stderr with --tag
	recv    map[int]*int64         // bytes of each chunk's latest output, as the worker wrote them
}

// received returns the bytes the chunk's latest attempt wrote to stdout,
// and whether they were counted; o.mu is held.
func (o *observer) received(chunk int) (int64, bool) {
	if p := o.recv[chunk]; p != nil {
		return atomicLoad(p), true
	}
	return 0, false
}

// counter returns a fresh byte count for a new output of chunk.
func (o *observer) counter(chunk int) *int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.recv == nil {
		o.recv = map[int]*int64{}
	}
	p := new(int64)
	o.recv[chunk] = p
	return p
}

func (o *observer) openJoblog(path string, appendTo bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	file, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("--joblog: %w", err)
	}
	st, _ := file.Stat()
	if appendTo && st != nil && st.Size() > 0 {
		o.log = joblog.NewAppendWriter(file)
	} else if o.log, err = joblog.NewWriter(file); err != nil {
		file.Close()
		return fmt.Errorf("--joblog: %w", err)
	}
	o.logFile = file
	return nil
}

func (o *observer) close() {
	if o.logFile != nil {
		o.logFile.Close()
	}
}

// event is the run's RunOptions.Events.
func (o *observer) event(e dispatch.Event) {
	if o.display != nil {
		o.display.Event(e)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started == nil {
		o.started = map[int]dispatch.Event{}
	}
	switch e.Kind {
	case dispatch.ChunkStarted:
		o.started[e.Chunk] = e
		return
	case dispatch.ChunkDone, dispatch.ChunkFailed:
		o.logEntry(e)
	}
	switch e.Kind {
	case dispatch.ChunkDone, dispatch.ChunkFailed, dispatch.ChunkRetry, dispatch.ChunkLost, dispatch.ChunkCancelled:
		k := [2]int{e.Chunk, e.Attempt}
		if c := o.errs[k]; c != nil {
			c.Close()
			delete(o.errs, k)
		}
	}
}

// logEntry writes the joblog line of a finished chunk; o.mu is held.
func (o *observer) logEntry(e dispatch.Event) {
	if o.log == nil {
		return
	}
	st := o.started[e.Chunk]
	en := joblog.Entry{
		Seq:     o.seq(e.Chunk),
		Host:    e.Host,
		Start:   st.Time,
		Runtime: e.Duration,
		Send:    o.send(e.Chunk),
		Receive: e.Bytes,
		Command: o.command(e.Chunk),
	}
	if en.Host == "" {
		en.Host = st.Host
	}
	if en.Start.IsZero() {
		en.Start = e.Time.Add(-e.Duration)
	}
	if n, ok := o.received(e.Chunk); ok {
		en.Receive = n
	}
	if e.Kind == dispatch.ChunkFailed {
		en.Exitval, en.Signal = exitOf(e.Err)
	}
	if err := o.log.Write(en); err != nil {
		fmt.Fprintf(o.stderr, "dproc: --joblog: %v\n", err)
	}
}

// exitOf returns the joblog's Exitval and Signal for a failed job's error.
func exitOf(err error) (exitval, signal int) {
	var xe *transport.ExitError
	if errors.As(err, &xe) {
		if xe.Signal != "" {
			if n := signalNumber(xe.Signal); n > 0 {
				return 0, n
			}
		}
		if xe.Code >= 0 {
			return xe.Code % 256, 0
		}
	}
	return -1, 0 // a timeout, a lost host: the job was stopped by dproc
}

// signalNumber returns the number of a signal named as ExitError names it
// ("TERM", "KILL").
func signalNumber(name string) int {
	for n, s := range signalNames {
		if s == name {
			return int(n)
		}
	}
	return 0
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGILL: "ILL",
	syscall.SIGABRT: "ABRT", syscall.SIGFPE: "FPE", syscall.SIGKILL: "KILL", syscall.SIGSEGV: "SEGV",
	syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGTERM: "TERM", syscall.SIGUSR1: "USR1",
	syscall.SIGUSR2: "USR2", syscall.SIGBUS: "BUS",
}

// hostOf returns where chunk last started.
func (o *observer) hostOf(chunk int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.started[chunk].Host
}

// tagLabel is the --tag prefix of a chunk.
func (o *observer) tagLabel(chunk int) string {
	if o.tagOf != nil {
		return o.tagOf(chunk)
	}
	return o.hostOf(chunk)
}

// stderrFor is the run's RunOptions.StderrFor: each attempt's standard
// error goes to dproc's, prefixed with --tag, and to DIR/SEQ/stderr with
// --results (the last attempt's stays).
func (o *observer) stderrFor(host string, chunk, attempt int) io.Writer {
	var ws []io.Writer
	var closers []io.Closer
	if o.tag {
		o.mu.Lock()
		if o.prefix == nil {
			o.prefix = fold.NewPrefixer(o.stderr, "\t")
		}
		p := o.prefix
		o.mu.Unlock()
		label := host
		if o.tagOf != nil {
			label = o.tagOf(chunk)
		}
		lw := p.Writer(label)
		ws, closers = append(ws, lw), append(closers, lw)
	} else {
		ws = append(ws, o.stderr)
	}
	if o.results != "" {
		dir := filepath.Join(o.results, strconv.FormatInt(o.seq(chunk), 10))
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if file, err := os.Create(filepath.Join(dir, "stderr")); err == nil {
				ws, closers = append(ws, file), append(closers, file)
			}
		}
	}
	if len(closers) > 0 {
		o.mu.Lock()
		if o.errs == nil {
			o.errs = map[[2]int]io.Closer{}
		}
		o.errs[[2]int{chunk, attempt}] = multiCloser(closers)
		o.mu.Unlock()
	}
	return iox.NewLockedWriter(io.MultiWriter(ws...))
}

func atomicLoad(p *int64) int64 { return atomic.LoadInt64(p) }

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// describe writes the one line that reports a failed chunk: which chunk or
// argument, on which host, which command, and why.
func (o *observer) describe(ce *dispatch.ChunkError) string {
	why := ce.Err.Error()
	var xe *transport.ExitError
	switch {
	case errors.As(ce.Err, &xe) && xe.Signal != "":
		why = "killed by signal " + xe.Signal
	case errors.As(ce.Err, &xe):
		why = "exit status " + strconv.Itoa(xe.Code)
	case errors.Is(ce.Err, dispatch.ErrAttemptTimeout):
		why = "timed out"
	default:
		why = oneLine(ce.Err).Error()
	}
	attempts := ""
	if ce.Attempts > 1 {
		attempts = fmt.Sprintf(" after %d attempts", ce.Attempts)
	}
	return fmt.Sprintf("%s on %s: %s: %s%s", o.label(ce.Chunk), ce.Host, o.command(ce.Chunk), why, attempts)
}

// tapGatherer wraps a gatherer to prefix output lines (--tag) and keep each
// job's output in DIR/SEQ/stdout (--results).
type tapGatherer struct {
	inner gather.Gatherer
	obs   *observer
}

func (g *tapGatherer) Output(index int) (gather.Output, error) {
	out, err := g.inner.Output(index)
	if err != nil {
		return nil, err
	}
	t := &tapOutput{inner: out, w: out, n: g.obs.counter(index)}
	if g.obs.tag {
		t.lw = fold.NewPrefixer(out, "\t").Writer(g.obs.tagLabel(index))
		t.w = t.lw
	}
	if g.obs.results != "" {
		dir := filepath.Join(g.obs.results, strconv.FormatInt(g.obs.seq(index), 10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			out.Discard()
			return nil, fmt.Errorf("--results: %w", err)
		}
		file, err := os.CreateTemp(dir, ".stdout.tmp-*")
		if err != nil {
			out.Discard()
			return nil, fmt.Errorf("--results: %w", err)
		}
		t.file, t.dir = file, dir
		t.cmd = g.obs.command(index)
	}
	return t, nil
}

func (g *tapGatherer) Close(n int, err error) error { return g.inner.Close(n, err) }

type tapOutput struct {
	inner gather.Output
	w     io.Writer
	lw    *fold.LineWriter
	file  *os.File
	dir   string
	cmd   string
	err   error
	n     *int64 // bytes written, read by the joblog
}

func (t *tapOutput) Write(b []byte) (int, error) {
	atomic.AddInt64(t.n, int64(len(b)))
	if t.file != nil && t.err == nil {
		_, t.err = t.file.Write(b)
	}
	return t.w.Write(b)
}

func (t *tapOutput) Commit() error {
	if t.lw != nil {
		if err := t.lw.Close(); err != nil {
			t.Discard()
			return err
		}
	}
	if t.file != nil {
		err := t.err
		if cerr := t.file.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(t.file.Name(), filepath.Join(t.dir, "stdout"))
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(t.dir, "cmd"), []byte(t.cmd+"\n"), 0o644)
		}
		if err != nil {
			os.Remove(t.file.Name())
			t.inner.Discard()
			return fmt.Errorf("--results: %w", err)
		}
	}
	return t.inner.Commit()
}

func (t *tapOutput) Discard() {
	if t.file != nil {
		t.file.Close()
		os.Remove(t.file.Name())
	}
	t.inner.Discard()
}

// display is a live progress display fed with a run's events.
type display interface {
	Event(dispatch.Event)
	Close() error
}

// noDisplay shows nothing.
type noDisplay struct{}

func (noDisplay) Event(dispatch.Event) {}
func (noDisplay) Close() error         { return nil }

// newDisplay returns the progress display of a run on standard error: live
// on a terminal, plain lines with --progress elsewhere, else nothing.
func (a *app) newDisplay(force bool, hosts []string, total int, unit string) (display, bool) {
	shown := force || progress.IsTerminal(a.stderr)
	if !shown {
		return noDisplay{}, false
	}
	return progress.New(a.stderr, hosts, total, &progress.Options{Force: force, Unit: unit}), true
}

// writeReport writes the per-host report of a run as an aligned table:
// every column of the hosts adds up to the total row, except busy, the
// wall time during which the host (for the total, any host) ran something
// (so the total's busy never exceeds the run's time, whatever the slots;
// slot-time is the sum over the slots). stalled counts the attempts found
// making no progress, spec the speculative copies started on the host. A
// host retired during the run (its hostfile dropped it) is marked so.
func writeReport(w io.Writer, rep *dispatch.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "host\tslots\tdone\tfailed\tlost\tretries\tstalled\tspec\tin\tout\tbusy\tslot-time")
	row := func(name string, h dispatch.HostReport) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", name, h.Slots, h.Done, h.Failures, h.Lost, h.Retries,
			h.Stalled, h.Speculative, bytesText(h.BytesIn), bytesText(h.BytesOut), h.Busy.Round(time.Millisecond),
			h.SlotTime.Round(time.Millisecond))
	}
	for _, h := range rep.Hosts {
		name := h.Host
		if h.Retired {
			name += " (retired)"
		}
		row(name, h)
	}
	row(dispatch.TotalHost, rep.Total())
	tw.Flush()
	fmt.Fprintf(w, "%d of %d done (%d resumed), %d failed, in %s\n", rep.Done, rep.Chunks, rep.Resumed, rep.Failed, rep.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "speculative launches: %d, stalled attempts: %d\n", rep.Speculative, rep.Total().Stalled)
}

// bytesText writes n with a binary unit, as the status table does.
func bytesText(n int64) string { return human.Bytes(uint64(max(n, 0))) }
