package dispatch

import "time"

// busyClock measures how long a set of slots was busy: the wall time
// during which at least one of them held an attempt (the union of the
// attempts' intervals, Busy in a report) and the time all of them held
// attempts added up (the sum of the intervals, SlotTime). It is fed, in
// time order, by the scheduler goroutine alone: begin when it hands an
// attempt to a slot, end when it takes the attempt back. Since both ends
// of every interval are observed in the order they happen, the union is
// kept exactly with a count of open intervals and O(1) memory, however
// long the run.
type busyClock struct {
	open  int           // intervals begun and not yet ended
	since time.Time     // when the current busy period began (open > 0)
	busy  time.Duration // union of the closed busy periods
	slot  time.Duration // sum of the ended intervals
}

// begin opens an interval at t.
func (c *busyClock) begin(t time.Time) {
	if c.open == 0 {
		c.since = t
	}
	c.open++
}

// end closes an interval that began at start, at t.
func (c *busyClock) end(start, t time.Time) {
	if c.open == 0 {
		return // not begun: nothing to close
	}
	c.slot += t.Sub(start)
	c.open--
	if c.open == 0 {
		c.busy += t.Sub(c.since)
	}
}

// totals returns the union and the sum of the ended intervals. The
// report is made after every attempt ended, so none is left open then.
func (c *busyClock) totals() (busy, slot time.Duration) {
	return c.busy, c.slot
}
