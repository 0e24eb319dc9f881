package dispatch

// This file holds the index of the hosts that can take a chunk now (up,
// not under a stall probe, not retired, with an idle slot), bucketed by
// their number of idle slots, so that picking a host costs the same with
// ten hosts as with ten thousand.

// readyIndex buckets the ready hosts by idle slots: buckets[c] holds the
// hosts with exactly c idle slots, in no particular order.
type readyIndex struct {
	buckets [][]*hostState
	n       int // hosts in all buckets
}

// bucketFor is the bucket h belongs in now; 0 is none.
func bucketFor(h *hostState) int {
	if h.state != hostUp || h.suspect || h.retired {
		return 0
	}
	return len(h.idle)
}

// update moves h to the bucket its state says, after any change of its
// state, idle slots, suspicion or retirement.
func (x *readyIndex) update(h *hostState) {
	want := bucketFor(h)
	if want == h.bucket {
		return
	}
	if h.bucket > 0 {
		b := x.buckets[h.bucket]
		last := b[len(b)-1]
		b[h.pos] = last
		last.pos = h.pos
		b[len(b)-1] = nil
		x.buckets[h.bucket] = b[:len(b)-1]
		x.n--
	}
	h.bucket = want
	if want > 0 {
		for len(x.buckets) <= want {
			x.buckets = append(x.buckets, nil)
		}
		h.pos = len(x.buckets[want])
		x.buckets[want] = append(x.buckets[want], h)
		x.n++
	}
}

// pick returns a ready host for t other than exclude: one t has not run on
// when there is one, and among those one with the most idle slots, which
// spreads chunks over hosts. It looks at no more than len(t.tried)+2 hosts
// of each bucket, so its cost does not grow with the number of hosts.
func (x *readyIndex) pick(t *task, exclude string) *hostState {
	var fallback *hostState
	for c := len(x.buckets) - 1; c > 0; c-- {
		seen := 0
		for _, h := range x.buckets[c] {
			if h.name == exclude {
				continue
			}
			if !t.tried[h.name] {
				return h
			}
			if fallback == nil {
				fallback = h
			}
			seen++
			if seen > len(t.tried) {
				break
			}
		}
	}
	return fallback
}
