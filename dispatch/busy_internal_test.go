package dispatch

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// feed plays intervals, given in milliseconds from an origin, into a
// busyClock in time order, as the scheduler does: at equal times an end
// comes before a begin (a slot freed and taken again at once).
func feed(c *busyClock, ivs [][2]int) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type op struct {
		t     int
		begin bool
		start int
	}
	var ops []op
	for _, iv := range ivs {
		ops = append(ops, op{iv[0], true, iv[0]}, op{iv[1], false, iv[0]})
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].t != ops[j].t {
			return ops[i].t < ops[j].t
		}
		return !ops[i].begin && ops[j].begin
	})
	for _, o := range ops {
		if o.begin {
			c.begin(at(o.t))
		} else {
			c.end(at(o.start), at(o.t))
		}
	}
}

func TestBusyClockUnionAndSum(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name       string
		ivs        [][2]int
		busy, slot time.Duration
	}{
		{"nothing ran", nil, 0, 0},
		{"one attempt", [][2]int{{0, 3000}}, ms(3000), ms(3000)},
		{"4 slots busy together", [][2]int{{0, 3000}, {0, 3000}, {0, 3000}, {0, 3000}}, ms(3000), ms(12000)},
		{"staggered overlap", [][2]int{{0, 2000}, {1000, 3000}}, ms(3000), ms(4000)},
		{"idle gap not counted", [][2]int{{0, 1000}, {2000, 3000}}, ms(2000), ms(2000)},
		{"nested in a long one", [][2]int{{0, 10000}, {2000, 3000}, {4000, 5000}}, ms(10000), ms(12000)},
		{"back to back", [][2]int{{0, 1000}, {1000, 2000}, {2000, 2500}}, ms(2500), ms(2500)},
		{"two busy periods", [][2]int{{0, 100}, {50, 300}, {1000, 1200}, {1100, 1150}}, ms(500), ms(600)},
		{"200 slots for 3 s", func() [][2]int {
			ivs := make([][2]int, 200)
			for i := range ivs {
				ivs[i] = [2]int{i, 3000 + i}
			}
			return ivs
		}(), ms(3199), ms(600000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c busyClock
			feed(&c, tc.ivs)
			busy, slot := c.totals()
			assert.Equal(t, tc.busy, busy, "busy is the union")
			assert.Equal(t, tc.slot, slot, "slot time is the sum")
			assert.Zero(t, c.open)
		})
	}
}

func TestBusyClockEndWithoutBegin(t *testing.T) {
	var c busyClock
	now := time.Now()
	c.end(now, now.Add(time.Second))
	busy, slot := c.totals()
	assert.Zero(t, busy)
	assert.Zero(t, slot)
	assert.Zero(t, c.open)
}
