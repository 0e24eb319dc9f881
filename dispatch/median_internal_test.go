package dispatch

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The running median is the element at index n/2 of the sorted samples,
// after every sample, whatever their order.
func TestMediansMatchSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 257} {
		var m medians
		var all []time.Duration
		assert.Zero(t, m.median())
		for i := 0; i < n; i++ {
			d := time.Duration(rng.IntN(50)) // repeats included
			m.add(d)
			all = append(all, d)
			sorted := slices.Sorted(slices.Values(all))
			assert.Equal(t, sorted[len(sorted)/2], m.median(), "n=%d after %d samples", n, i+1)
			assert.Equal(t, len(all), m.len())
		}
	}
}

func TestProgressLongestSilence(t *testing.T) {
	var p progress
	p.begin(nanotime() - int64(300*time.Millisecond)) // started 300 ms ago
	p.tick()                                          // first byte now: a 300 ms silence
	assert.GreaterOrEqual(t, time.Duration(p.longest.Load()), 300*time.Millisecond)
	p.tick()
	assert.GreaterOrEqual(t, p.longestSilence(nanotime()), 300*time.Millisecond, "the longest silence is kept")
	assert.Less(t, p.silence(nanotime()), 300*time.Millisecond, "the silence restarts at each tick")
	// The silence from the last byte to the end counts too.
	assert.GreaterOrEqual(t, p.longestSilence(nanotime()+int64(time.Second)), time.Second)
}
