package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"dproc/dispatch"
)

// Options configure a Display. The zero value, and a nil *Options, give
// the defaults each field documents.
type Options struct {
	// Force shows progress even when the writer is not a terminal, as
	// plain text lines (see the package doc): dproc's --progress. On a
	// terminal the display is live, with or without it.
	Force bool

	// Unit names what the run counts, in the plural: "chunks" (the
	// default) or "jobs" for argument mode.
	Unit string

	// MaxHosts is how many host lines a terminal shows at most; more
	// hosts are summed up on the last of those lines. Default 20.
	MaxHosts int
}

// Display shows the progress of one run. Its methods are safe for
// concurrent use. Make it with New, feed it with Event (from
// dispatch.RunOptions.Events), and Close it when the run returned.
type Display struct {
	w     io.Writer
	mode  int
	unit  string
	max   int
	total int

	mu      sync.Mutex
	run     string // the run whose events are shown, once one arrived
	hosts   []*hostStat
	byName  map[string]*hostStat
	done    int // chunks committed, by hosts or from a journal
	failed  int // chunks failed for good
	bytes   int64
	nextPct int // text mode: the next tenth (1..10) to report
	nextLog int // text mode, unknown total: the next count to report
	pending bytes.Buffer
	closed  bool

	lmu      sync.Mutex // serializes Write; held before mu
	partial  []byte     // Write's text after its last newline
	late     []byte     // whole lines written while the live display stopped
	stopping bool       // Close began: Write keeps lines for Close
	wclosed  bool       // Close is past drawing: Write goes straight to w
	wmu      sync.Mutex // text mode: orders writes to w

	wake chan struct{} // one pending redraw
	quit chan struct{}
	wg   sync.WaitGroup

	p       *mpb.Progress
	overall *mpb.Bar
	lines   []*mpb.Bar
}

const (
	modeOff = iota
	modeText
	modeLive
)

// Host states.
const (
	stSetup = iota
	stUp
	stDown
)

type hostStat struct {
	name    string
	state   int
	running int
	done    int
	failed  int
	lost    int
	bytes   int64
	first   time.Time // the start of its first attempt
	lastErr error
}

// IsTerminal reports whether w is a terminal: an *os.File open on a
// terminal device. Anything else (a pipe, a regular file, /dev/null, a
// bytes.Buffer) is not.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && cupwriter.New(f, false).IsTerminal()
}

// New returns a Display writing to w for hosts, in their order, for a
// run of total chunks (or jobs); total 0 means unknown (a streamed
// input), which shows counts and rates but no bar and no ETA. On a
// terminal it starts drawing at once; off a terminal it writes nothing
// unless opts.Force is set. opts may be nil.
func New(w io.Writer, hosts []string, total int, opts *Options) *Display {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Unit == "" {
		o.Unit = "chunks"
	}
	if o.MaxHosts <= 0 {
		o.MaxHosts = 20
	}
	d := &Display{
		w: w, unit: o.Unit, max: o.MaxHosts, total: max(total, 0),
		byName: make(map[string]*hostStat, len(hosts)),
		wake:   make(chan struct{}, 1), quit: make(chan struct{}),
		nextPct: 1, nextLog: 1,
	}
	for _, h := range hosts {
		if _, dup := d.byName[h]; dup {
			continue
		}
		hs := &hostStat{name: h}
		d.hosts = append(d.hosts, hs)
		d.byName[h] = hs
	}
	switch {
	case IsTerminal(w):
		d.mode = modeLive
		d.startLive()
	case o.Force:
		d.mode = modeText
	default:
		d.mode = modeOff
		return d
	}
	d.wg.Add(1)
	go d.pump()
	return d
}

// Event records one event of the run; give it as dispatch.RunOptions.Events.
// It returns at once: it updates counts and signals the drawing goroutine
// without waiting for it. Events of a run other than the first one seen,
// and events after Close, are ignored.
func (d *Display) Event(e dispatch.Event) {
	if d.mode == modeOff {
		return
	}
	d.mu.Lock()
	if d.closed || (d.run != "" && e.Run != d.run) {
		d.mu.Unlock()
		return
	}
	d.run = e.Run
	d.apply(e)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default: // a redraw is pending already: it will see this event
	}
}

// apply updates the counts for e; d.mu is held.
func (d *Display) apply(e dispatch.Event) {
	h := d.byName[e.Host]
	if h == nil && e.Host != "" {
		h = &hostStat{name: e.Host}
		d.hosts = append(d.hosts, h)
		d.byName[e.Host] = h
	}
	if h == nil && e.Kind != dispatch.ChunkFailed && e.Kind != dispatch.ChunkResumed {
		return // every other kind names its host
	}
	switch e.Kind {
	case dispatch.HostReady, dispatch.HostUp:
		h.state = stUp
		h.lastErr = nil
		if e.Kind == dispatch.HostUp {
			d.textf("host %s up again\n", h.name)
		}
	case dispatch.HostDown:
		h.state = stDown
		h.lastErr = e.Err
		d.textf("host %s down, probing: %v\n", h.name, e.Err)
	case dispatch.ChunkStarted, dispatch.ChunkSpeculated:
		if e.Kind == dispatch.ChunkSpeculated {
			return // its ChunkStarted follows
		}
		h.running++
		if h.first.IsZero() {
			h.first = e.Time
		}
	case dispatch.ChunkDone:
		h.running = max(h.running-1, 0)
		h.done++
		h.bytes += e.Bytes
		d.done++
		d.bytes += e.Bytes
		d.step()
	case dispatch.ChunkLost:
		h.running = max(h.running-1, 0)
		h.lost++
	case dispatch.ChunkRetry, dispatch.ChunkCancelled:
		h.running = max(h.running-1, 0)
		if e.Kind == dispatch.ChunkRetry {
			h.failed++
		}
	case dispatch.ChunkFailed:
		if h != nil {
			h.running = max(h.running-1, 0)
			h.failed++
		}
		d.failed++
	case dispatch.ChunkResumed:
		d.done++
		d.step()
	}
}

// textf appends a text-mode line; d.mu is held.
func (d *Display) textf(format string, args ...any) {
	if d.mode == modeText {
		d.pending.WriteString("progress: ")
		fmt.Fprintf(&d.pending, format, args...)
	}
}

// step writes the text-mode line for the count just reached, when it is
// one that is reported; d.mu is held.
func (d *Display) step() {
	if d.mode != modeText {
		return
	}
	if d.total > 0 {
		reached := 0
		for d.nextPct <= 10 && d.done*10 >= d.nextPct*d.total {
			reached = d.nextPct
			d.nextPct++
		}
		if reached > 0 {
			d.textf("%d/%d %s done (%d%%)\n", d.done, d.total, d.unit, d.done*100/d.total)
		}
		return
	}
	if d.done >= d.nextLog {
		d.textf("%d %s done\n", d.done, d.unit)
		for d.nextLog <= d.done {
			d.nextLog += logStep(d.nextLog)
		}
	}
}

// logStep is the distance from n to the next reported count: counts go
// 1..9 by one, 10..90 by ten, and so on.
func logStep(n int) int {
	s := 1
	for n >= s*10 {
		s *= 10
	}
	return s
}

// pump draws (live) or writes (text) whenever Event signals, until Close.
func (d *Display) pump() {
	defer d.wg.Done()
	for {
		select {
		case <-d.wake:
			d.flush()
		case <-d.quit:
			return
		}
	}
}

// flush hands the current state to mpb, or writes the pending text lines.
func (d *Display) flush() {
	switch d.mode {
	case modeLive:
		d.mu.Lock()
		done := d.done
		d.mu.Unlock()
		d.overall.SetCurrent(int64(done))
	case modeText:
		d.wmu.Lock()
		d.writePending()
		d.wmu.Unlock()
	}
}

// writePending writes the text lines Event queued; d.wmu is held.
func (d *Display) writePending() {
	d.mu.Lock()
	text := bytes.Clone(d.pending.Bytes())
	d.pending.Reset()
	d.mu.Unlock()
	if len(text) > 0 {
		_, _ = d.w.Write(text)
	}
}

// Close stops the display and leaves the screen clean: on a terminal the
// last state is drawn, every line ends with a newline and the cursor is
// at the start of the next line; in text mode the pending lines and a
// last summary line are written. It waits for the drawing goroutine and
// returns the first error writing to the terminal, if any. Calling Close
// again does nothing.
func (d *Display) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	if d.mode == modeOff {
		return nil
	}
	close(d.quit)
	d.wg.Wait()
	d.flush()
	switch d.mode {
	case modeLive:
		// No Write is in mpb's hands past this point, so every line it
		// took is printed by the frames that complete the bars.
		d.lmu.Lock()
		d.stopping = true
		d.lmu.Unlock()
		d.mu.Lock()
		complete := d.total == 0 || d.done >= d.total
		d.mu.Unlock()
		if complete {
			d.overall.SetTotal(-1, true)
		} else {
			d.overall.Abort(false)
		}
		for _, b := range d.lines {
			b.SetTotal(-1, true)
		}
		d.p.Wait()
		perr := d.endPartial()
		if d.p.Error != nil {
			return d.p.Error
		}
		return perr
	case modeText:
		perr := d.endPartial()
		d.mu.Lock()
		line := d.summary()
		d.mu.Unlock()
		_, err := io.WriteString(d.w, "progress: "+line+"\n")
		if perr != nil {
			return perr
		}
		return err
	}
	return nil
}

// summary is the overall line of text mode and of an unknown total;
// d.mu is held.
func (d *Display) summary() string {
	var b strings.Builder
	if d.total > 0 {
		fmt.Fprintf(&b, "%d/%d %s done", d.done, d.total, d.unit)
	} else {
		fmt.Fprintf(&b, "%d %s done", d.done, d.unit)
	}
	if d.failed > 0 {
		fmt.Fprintf(&b, ", %d failed", d.failed)
	}
	fmt.Fprintf(&b, ", % .1f out", decor.SizeB1024(d.bytes))
	down := 0
	for _, h := range d.hosts {
		if h.state == stDown {
			down++
		}
	}
	if down > 0 {
		fmt.Fprintf(&b, ", %d of %d hosts down", down, len(d.hosts))
	}
	return b.String()
}
