package progress

import (
	"fmt"
	"strings"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// refreshRate is how often the live display is redrawn.
const refreshRate = 150 * time.Millisecond

// startLive creates the mpb container: a line per shown host, a summary
// line for the others, and the overall bar last.
func (d *Display) startLive() {
	d.p = mpb.New(mpb.WithOutput(d.w), mpb.WithRefreshRate(refreshRate), mpb.WithQueueLen(d.max+2))
	shown := d.hosts
	var rest []*hostStat
	if len(d.hosts) > d.max {
		shown, rest = d.hosts[:d.max-1], d.hosts[d.max-1:]
	}
	width := 0
	for _, h := range shown {
		width = max(width, len(h.name))
	}
	for _, h := range shown {
		d.lines = append(d.lines, d.p.New(0, mpb.NopStyle(),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return d.hostLine(h, width) }))))
	}
	if len(rest) > 0 {
		d.lines = append(d.lines, d.p.New(0, mpb.NopStyle(),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return d.restLine(rest) }))))
	}
	if d.total > 0 {
		d.overall = d.p.New(int64(d.total), mpb.BarStyle(),
			mpb.PrependDecorators(
				decor.Name("total "),
				decor.CountersNoUnit("%d/%d "+d.unit, decor.WCSyncSpaceR),
			),
			mpb.AppendDecorators(
				decor.Percentage(decor.WC{W: 5}),
				decor.Name(" "),
				decor.OnAbort(decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done"), "stopped"),
			),
		)
		return
	}
	d.overall = d.p.New(0, mpb.NopStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			d.mu.Lock()
			defer d.mu.Unlock()
			return "total " + d.summary()
		})))
}

// hostLine is one host's line: name, count, bytes, rate, state.
func (d *Display) hostLine(h *hostStat, width int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	rate := "-"
	if !h.first.IsZero() {
		if s := time.Since(h.first).Seconds(); s > 0 {
			rate = fmt.Sprintf("% .1f/s", decor.SizeB1024(int64(float64(h.bytes)/s)))
		}
	}
	line := fmt.Sprintf("%-*s %6d %s %11s %13s  %s", width, h.name, h.done, d.unit,
		fmt.Sprintf("% .1f", decor.SizeB1024(h.bytes)), rate, d.state(h))
	if h.failed > 0 || h.lost > 0 {
		line += fmt.Sprintf(" (%d failed, %d lost)", h.failed, h.lost)
	}
	return line
}

// state is a host's state word; d.mu is held.
func (d *Display) state(h *hostStat) string {
	switch {
	case h.state == stDown && h.lastErr != nil:
		return "down, probing: " + oneLine(h.lastErr.Error())
	case h.state == stDown:
		return "down, probing"
	case h.state == stSetup:
		return "setup"
	case h.running > 0:
		return fmt.Sprintf("running %d", h.running)
	default:
		return "idle"
	}
}

// restLine sums up the hosts that have no line of their own.
func (d *Display) restLine(rest []*hostStat) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var done, running, down int
	var bytes int64
	for _, h := range rest {
		done += h.done
		bytes += h.bytes
		switch {
		case h.state == stDown:
			down++
		case h.running > 0:
			running++
		}
	}
	return fmt.Sprintf("+%d hosts %6d %s % .1f, %d running, %d idle, %d down", len(rest), done, d.unit,
		decor.SizeB1024(bytes), running, len(rest)-running-down, down)
}

// oneLine keeps the first line of an error text, so that a host's line
// stays one line.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
