package dispatch_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport/memtransport"
)

// pausingUpper is a worker that takes a few milliseconds per chunk, so that a
// run lasts long enough for hosts to join and leave.
func pausingUpper(ctx context.Context, p *memtransport.Process) int {
	data, _ := io.ReadAll(p.Stdin)
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
		return 1
	}
	p.Stdout.Write(asciiUpper(data))
	return 0
}

// midRunChange runs 60 chunks on d, calling change (on its own goroutine:
// event callbacks must not call into the Dispatcher) once 5 chunks are
// done, and returns the output, the report and the events.
func midRunChange(t *testing.T, d *dispatch.Dispatcher, in []byte, change func()) ([]byte, *dispatch.Report, *events) {
	t.Helper()
	var ev events
	var once sync.Once
	var wg sync.WaitGroup
	done := 0
	hook := func(e dispatch.Event) {
		ev.add(e)
		if e.Kind == dispatch.ChunkDone {
			if done++; done == 5 {
				once.Do(func() {
					wg.Add(1)
					go func() { defer wg.Done(); change() }()
				})
			}
		}
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := d.Run(ctx, &dispatch.Job{Args: []string{"work"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 60, nil), gather.Ordered(&out, nil), &dispatch.RunOptions{Events: hook})
	wg.Wait()
	require.NoError(t, err)
	return out.Bytes(), rep, &ev
}

func reportOf(rep *dispatch.Report, host string) (dispatch.HostReport, bool) {
	for _, h := range rep.Hosts {
		if h.Host == host {
			return h, true
		}
	}
	return dispatch.HostReport{}, false
}

// Hosts added while a run goes on are set up and pull chunks at once.
func TestAddHostsMidRun(t *testing.T) {
	mt, _ := cluster(t, 3)
	mt.Handle("work", pausingUpper)
	d, err := dispatch.New(mt, []string{"h1"}, &dispatch.Options{Slots: 1, HostSlots: map[string]int{"h1": 1}})
	require.NoError(t, err)
	in := lines(600)
	got, rep, ev := midRunChange(t, d, in, func() { assert.NoError(t, d.AddHosts("h2", "h3")) })
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 60, rep.Done)
	assert.Equal(t, []string{"h1", "h2", "h3"}, d.Hosts())
	assert.Equal(t, 3, d.Slots())
	require.Len(t, rep.Hosts, 3)
	for _, h := range []string{"h2", "h3"} {
		hr, ok := reportOf(rep, h)
		require.True(t, ok, h)
		assert.Positive(t, hr.Done, "%s pulled chunks once added", h)
		assert.Equal(t, 1, ev.hosts(dispatch.HostReady)[h])
	}
}

// A host retired while a run goes on takes no new chunk; its running
// attempt finishes. Re-added, it takes chunks again.
func TestRetireHostMidRun(t *testing.T) {
	mt, hosts := cluster(t, 3)
	mt.Handle("work", pausingUpper)
	d, err := dispatch.New(mt, hosts, &dispatch.Options{Slots: 1})
	require.NoError(t, err)
	in := lines(600)
	got, rep, ev := midRunChange(t, d, in, func() { assert.NoError(t, d.RetireHost("h1")) })
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 60, rep.Done)
	assert.Equal(t, []string{"h2", "h3"}, d.Hosts())
	retired := false
	for _, e := range ev.all {
		switch {
		case e.Kind == dispatch.HostRetired:
			assert.Equal(t, "h1", e.Host)
			retired = true
		case retired && e.Kind == dispatch.ChunkStarted:
			assert.NotEqual(t, "h1", e.Host, "chunk %d started on h1 after it was retired", e.Chunk)
		}
	}
	require.True(t, retired)
	h1, _ := reportOf(rep, "h1")
	assert.True(t, h1.Retired)
	assert.Zero(t, h1.Lost+h1.Failures, "h1's running attempt finished")

}

// Between runs, the next run uses the hosts as they are now.
func TestHostChangesBetweenRuns(t *testing.T) {
	mt, hosts := cluster(t, 3)
	d, err := dispatch.New(mt, hosts[:2], nil)
	require.NoError(t, err)
	in := lines(100)
	runOnce := func() *dispatch.Report {
		var out bytes.Buffer
		rep, err := d.Run(context.Background(), &dispatch.Job{Args: upper},
			split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), gather.Ordered(&out, nil), nil)
		require.NoError(t, err)
		assert.Equal(t, string(asciiUpper(in)), out.String())
		return rep
	}
	names := func(rep *dispatch.Report) []string {
		var out []string
		for _, h := range rep.Hosts {
			out = append(out, h.Host)
		}
		return out
	}
	require.NoError(t, d.AddHosts("h3"))
	assert.Equal(t, []string{"h1", "h2", "h3"}, names(runOnce()))
	require.NoError(t, d.RetireHost("h1"))
	assert.Equal(t, []string{"h2", "h3"}, names(runOnce()))
	require.NoError(t, d.AddHosts("h1"))
	assert.Equal(t, []string{"h2", "h3", "h1"}, names(runOnce()))
	assert.Equal(t, 6, d.Slots())
}

func TestHostChangeErrors(t *testing.T) {
	mt, hosts := cluster(t, 2)
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"add empty", d.AddHosts("h3", ""), dispatch.ErrInvalid},
		{"add present", d.AddHosts("h1"), dispatch.ErrInvalid},
		{"add twice", d.AddHosts("h4", "h4"), dispatch.ErrInvalid},
		{"retire unknown", d.RetireHost("nope"), dispatch.ErrUnknownHost},
	} {
		assert.ErrorIs(t, tc.err, tc.want, tc.name)
	}
	assert.Equal(t, hosts, d.Hosts(), "a refused change adds nothing")
	require.NoError(t, d.RetireHost("h1"))
	err = d.RetireHost("h2")
	assert.ErrorIs(t, err, dispatch.ErrNoHosts, "the last host stays")
	assert.Contains(t, err.Error(), `"h2"`)
	assert.Equal(t, []string{"h2"}, d.Hosts())
}

// Hosts join and leave over and over while several runs go on: every run's
// output is the reference.
func TestHostChurnDuringConcurrentRuns(t *testing.T) {
	mt, hosts := cluster(t, 4)
	mt.Handle("work", pausingUpper)
	d, err := dispatch.New(mt, hosts[:1], &dispatch.Options{Slots: 2})
	require.NoError(t, err)
	in := lines(600)
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for i := 0; ; i++ {
			h := hosts[1+i%3]
			if i/3%2 == 0 {
				assert.NoError(t, d.AddHosts(h))
			} else {
				assert.NoError(t, d.RetireHost(h))
			}
			select {
			case <-stop:
				return
			case <-time.After(7 * time.Millisecond):
			}
		}
	}()
	var runs sync.WaitGroup
	for i := 0; i < 3; i++ {
		runs.Add(1)
		go func() {
			defer runs.Done()
			var out bytes.Buffer
			rep, err := d.Run(context.Background(), &dispatch.Job{Args: []string{"work"}},
				split.Even(bytes.NewReader(in), int64(len(in)), 40, nil), gather.Ordered(&out, nil), nil)
			assert.NoError(t, err)
			assert.Equal(t, string(asciiUpper(in)), out.String())
			assert.Equal(t, 40, rep.Done)
		}()
	}
	runs.Wait()
	close(stop)
	churn.Wait()
}
