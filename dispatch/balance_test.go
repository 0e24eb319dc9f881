package dispatch_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/split"
)

// TestLoadBalancing gives one host a fifth of the others' speed (the fake's
// bandwidth control) and checks that pull scheduling uses the total
// capacity: the run ends within 1.2 times the ideal time, the time the
// hosts' measured rates would need if perfectly shared. Rates are measured
// in the same run, so a slow or busy machine moves both sides alike.
func TestLoadBalancing(t *testing.T) {
	mt, hosts := cluster(t, 3)
	const bw = 16 << 20
	mt.Host("h1").SetBandwidth(bw / 5)
	mt.Host("h2").SetBandwidth(bw)
	mt.Host("h3").SetBandwidth(bw)
	in := lines(350_000) // about 8 MiB
	got, rep, err := run(t, mt, hosts, &dispatch.Options{Slots: 1}, &dispatch.Job{Args: upper},
		split.Blocks(bytes.NewReader(in), int64(len(in)), 32<<10, nil))
	require.NoError(t, err)
	require.Equal(t, string(asciiUpper(in)), string(got))

	var capacity float64 // bytes per second, all hosts together
	for _, h := range rep.Hosts {
		require.Positive(t, h.Done, "%s did no work", h.Host)
		capacity += float64(h.BytesIn) / h.Busy.Seconds()
	}
	ideal := time.Duration(float64(len(in)) / capacity * float64(time.Second))
	t.Logf("elapsed %v, ideal %v (ratio %.2f); tasks h1=%d h2=%d h3=%d", rep.Elapsed, ideal,
		rep.Elapsed.Seconds()/ideal.Seconds(), rep.Hosts[0].Done, rep.Hosts[1].Done, rep.Hosts[2].Done)
	assert.LessOrEqual(t, rep.Elapsed.Seconds(), 1.2*ideal.Seconds(), "within 1.2 x the ideal time")
	// The slow host did about a fifth of what each fast host did.
	assert.Less(t, 2*rep.Hosts[0].Done, rep.Hosts[1].Done)
	assert.Less(t, 2*rep.Hosts[0].Done, rep.Hosts[2].Done)
}

// TestSlotsAreWeights checks that a host with more slots takes more chunks.
func TestSlotsAreWeights(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Host("h1").SetBandwidth(8 << 20)
	mt.Host("h2").SetBandwidth(8 << 20)
	in := lines(60_000)
	got, rep, err := run(t, mt, hosts, &dispatch.Options{Slots: 1, HostSlots: map[string]int{"h2": 4}},
		&dispatch.Job{Args: upper}, split.Blocks(bytes.NewReader(in), int64(len(in)), 16<<10, nil))
	require.NoError(t, err)
	require.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 4, rep.Hosts[1].Slots)
	assert.Greater(t, rep.Hosts[1].Done, 2*rep.Hosts[0].Done)
}
