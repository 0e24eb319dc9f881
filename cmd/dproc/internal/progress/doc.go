// Package progress is dproc's view of a running job: fed with the
// dispatch.Event values of one run, it shows how far the run is, host by
// host, while it goes.
//
// On a terminal the display is live and redrawn in place: one line per
// host with the chunks (or jobs) it finished, the output bytes it
// returned, its rate (output bytes per second since its first attempt
// started), and its state, then an overall bar with the count, the
// percentage and the estimated time left. A host's state is one of
//
//	setup    its setup has not finished yet (no HostReady)
//	running  it runs N attempts
//	idle     it is up and runs nothing
//	down     it was lost; the dispatcher probes it with backoff until it
//	         answers (shown with the reason), then it is up again
//
// Off a terminal (a pipe, a file) the display writes nothing, unless
// Options.Force is set (dproc's --progress): then it writes plain text
// lines, with no escape codes, since a file cannot be redrawn: one when a
// host goes down or comes back, one each time the run passes a tenth of
// its total (or, when the total is unknown, at 1, 2, ... 9, 10, 20, ...
// 90, 100, 200 ... chunks), and a last line at Close. Those lines depend
// only on the events, never on timing, so a log reads the same on every
// run of the same job.
//
// # Not blocking the dispatcher
//
// The dispatcher calls RunOptions.Events from its scheduling goroutine,
// so Display.Event must return at once. It only updates counters under a
// mutex that nothing holds across I/O, and signals the drawing goroutine
// with a non-blocking send on a channel of one element: a burst of events
// becomes one redraw, and no event is lost, since counts are kept, not
// queued. A slow or stopped terminal therefore slows the drawing, never
// the run.
//
// # Messages while it runs
//
// Anything else written to the display's terminal while it is drawn
// would be overwritten or would shift the lines being redrawn. A Display
// is therefore an io.Writer too: give it as dispatch.RunOptions.Stderr
// and print messages through it, and each whole line appears above the
// display (in text mode, between the progress lines, in order). A line
// not ended yet is held until its newline, or until Close ends it.
//
// # Many hosts
//
// A terminal shows at most Options.MaxHosts host lines (default 20); with
// more hosts the first MaxHosts-1 are shown and one line sums up the
// others (how many run, are idle, are down).
//
// # Closing
//
// Close draws the last state once more and stops the display: every line
// is complete and ends with a newline, the bars stay on screen as the
// record of the run (aborted, not completed, when chunks are missing),
// and the cursor is left where the caller's next line (dproc prints the
// per-host report there) begins. The display never hides the cursor, so
// there is nothing to restore if the program is killed.
//
// # Why mpb
//
// The live display is drawn by github.com/vbauerster/mpb/v8. It is kept
// up: one author has maintained it for years, v8 has had regular releases
// since 2022 (v8.16.2, the version used, in September 2026), and it
// follows Go module versioning. It costs little: five small pure-Go
// modules (ewma for rates, stripansi, go-runewidth and uax29 for widths,
// cupwriter for the cursor moves), plus golang.org/x/sys, which the build
// has already. It draws several bars at once, each with decorators
// computed at draw time, which is what a line per host needs; it sizes
// lines to the terminal (cutting a long one with "…") and does its own
// cursor movement, so this package writes no escape code itself.
// IsTerminal asks cupwriter, as mpb does, so the two always agree. A
// library built around a single bar (schollz/progressbar) does not fit a
// line per host, and a full terminal UI framework (bubbletea) would cost
// far more code and dependencies for a status display. Only cmd/dproc
// imports this package, so the library packages stay free of it; the
// tests use github.com/creack/pty (test-only) to run the display in a
// real pseudo-terminal.
package progress
