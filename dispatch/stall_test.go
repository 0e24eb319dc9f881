package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/memtransport"
)

// freezer is a worker that uppercases its input, writing the first half of
// its output, then freezing its own host (memtransport's Hang: every
// stream of the host stops) when freeze says so, then writing the rest.
func freezer(freeze func(p *memtransport.Process) bool) memtransport.Func {
	return func(ctx context.Context, p *memtransport.Process) int {
		data, err := io.ReadAll(p.Stdin)
		if err != nil {
			return 1
		}
		up := asciiUpper(data)
		if _, err := p.Stdout.Write(up[:len(up)/2]); err != nil {
			return 1
		}
		if freeze(p) {
			p.Control().Hang(true) // the next write blocks until the attempt ends
		}
		if _, err := p.Stdout.Write(up[len(up)/2:]); err != nil {
			return 1
		}
		return 0
	}
}

// freezeSecondOnH2 is a freeze rule for freezer: h2 freezes on its second
// chunk, once its first succeeded; the other hosts take 10 ms a chunk, so
// that h2 is sure to get a second chunk and the others are soon free.
func freezeSecondOnH2() func(p *memtransport.Process) bool {
	var h2 atomic.Int32
	return func(p *memtransport.Process) bool {
		if p.Host != "h2" {
			time.Sleep(10 * time.Millisecond)
			return false
		}
		return h2.Add(1) == 2
	}
}

// stallOpts detect stalls quickly, so that tests run fast.
func stallOpts() *dispatch.Options {
	return &dispatch.Options{Slots: 1, ProbeTimeout: 300 * time.Millisecond,
		Stall: dispatch.Stall{Floor: 100 * time.Millisecond, Factor: 4}}
}

// eventsOf returns the events of kind k.
func (e *events) of(k dispatch.EventKind) []dispatch.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []dispatch.Event
	for _, ev := range e.all {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// A host that freezes mid-stream, once the other hosts are free: its chunk
// gets a speculative copy that commits. The output is exactly the
// reference.
func TestFrozenHostChunkFinishesElsewhere(t *testing.T) {
	mt, hosts := cluster(t, 3)
	t.Cleanup(func() { mt.Host("h2").Hang(false) })
	in := lines(3000)
	mt.Handle("work", freezer(freezeSecondOnH2()))
	var ev events
	got, rep, err := run(t, mt, hosts, stallOpts(), &dispatch.Job{Args: []string{"work"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 12, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got), "the output is the reference")

	stalled := ev.of(dispatch.ChunkStalled)
	require.Len(t, stalled, 1, "one attempt stalled: %v", stalled)
	assert.Equal(t, "h2", stalled[0].Host)
	idx := stalled[0].Chunk
	spec := ev.of(dispatch.ChunkSpeculated)
	require.Len(t, spec, 1)
	assert.Equal(t, idx, spec[0].Chunk)
	assert.NotEqual(t, "h2", spec[0].Host)
	for _, e := range ev.of(dispatch.ChunkDone) {
		if e.Chunk == idx {
			assert.NotEqual(t, "h2", e.Host, "the frozen chunk was committed elsewhere")
		}
	}
	// The run does not wait for the frozen host's probe: it ends as soon
	// as the copy committed, well before the attempt could time out.
	assert.Less(t, rep.Elapsed, 10*time.Second)
	assert.Equal(t, 1, rep.Speculative)
	assert.Equal(t, 1, rep.Total().Speculative)
	assert.Equal(t, 1, rep.Total().Stalled)
	byHost := map[string]dispatch.HostReport{}
	for _, h := range rep.Hosts {
		byHost[h.Host] = h
	}
	assert.Equal(t, 1, byHost["h2"].Stalled)
	assert.Equal(t, 1, byHost[spec[0].Host].Speculative)
	assert.Equal(t, 12, rep.Done)
}

// A host that freezes while chunks still wait gets no copy of its chunk
// (the free slots take the waiting chunks); it fails its probe, and its
// attempt is lost, with an error saying it stalled, and runs elsewhere.
func TestFrozenHostAttemptIsLost(t *testing.T) {
	mt, hosts := cluster(t, 2)
	t.Cleanup(func() { mt.Host("h2").Hang(false) })
	var froze atomic.Bool
	mt.Host("h1").Handle("work", func(ctx context.Context, p *memtransport.Process) int {
		// h1 is slow enough that chunks wait until h2's probe failed.
		select {
		case <-time.After(30 * time.Millisecond):
		case <-ctx.Done():
			return 1
		}
		data, _ := io.ReadAll(p.Stdin)
		p.Stdout.Write(asciiUpper(data))
		return 0
	})
	mt.Host("h2").Handle("work", freezer(func(*memtransport.Process) bool { return froze.CompareAndSwap(false, true) }))
	in := lines(4000)
	var ev events
	got, rep, err := run(t, mt, hosts, stallOpts(), &dispatch.Job{Args: []string{"work"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 40, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))

	lostEv := ev.of(dispatch.ChunkLost)
	require.Len(t, lostEv, 1)
	assert.Equal(t, "h2", lostEv[0].Host)
	assert.ErrorIs(t, lostEv[0].Err, dispatch.ErrStalled)
	assert.True(t, transport.IsLost(lostEv[0].Err))
	assert.Contains(t, lostEv[0].Err.Error(), `host "h2"`)
	assert.Contains(t, lostEv[0].Err.Error(), "no progress for")
	assert.Equal(t, 1, ev.count(dispatch.ChunkStalled))
	assert.Equal(t, 1, rep.Hosts[1].Lost)
	assert.Equal(t, 1, ev.hosts(dispatch.HostDown)["h2"], "the frozen host failed its probe")
	assert.True(t, rep.Hosts[1].Down)
	assert.Zero(t, rep.Speculative, "no slot was free for a copy")
	assert.Equal(t, 40, rep.Hosts[0].Done)
}

// slowWriter is a worker that writes its output a line at a time, a pause
// after each: slow, but always making progress.
func slowWriter(pause time.Duration) memtransport.Func {
	return func(ctx context.Context, p *memtransport.Process) int {
		data, _ := io.ReadAll(p.Stdin)
		for _, line := range bytes.SplitAfter(asciiUpper(data), []byte("\n")) {
			if _, err := p.Stdout.Write(line); err != nil {
				return 1
			}
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return 1
			}
		}
		return 0
	}
}

// A healthy run launches no copy: not for a worker much slower than the
// others that keeps making progress, nor for workers that read everything
// and then compute in silence for longer than the stall floor.
func TestHealthyRunLaunchesNoCopy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(mt *memtransport.Transport)
		chunks int
		slow   string // a host whose attempts take far longer than the stall limit
	}{
		{"slow but progressing host", func(mt *memtransport.Transport) {
			mt.Handle("work", freezer(func(*memtransport.Process) bool { return false }))
			mt.Host("h3").Handle("work", slowWriter(20*time.Millisecond)) // 50 lines: 1 s a chunk
		}, 12, "h3"},
		{"silent computing", func(mt *memtransport.Transport) {
			mt.Handle("work", func(ctx context.Context, p *memtransport.Process) int {
				data, _ := io.ReadAll(p.Stdin)
				select {
				case <-time.After(250 * time.Millisecond): // silent, beyond Floor
				case <-ctx.Done():
					return 1
				}
				p.Stdout.Write(asciiUpper(data))
				return 0
			})
		}, 12, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt, hosts := cluster(t, 3)
			tc.handle(mt)
			in := lines(50 * tc.chunks)
			var ev events
			opts := stallOpts()
			opts.Stall.Floor = 200 * time.Millisecond
			got, rep, err := run(t, mt, hosts, opts, &dispatch.Job{Args: []string{"work"}},
				split.Even(bytes.NewReader(in), int64(len(in)), tc.chunks, nil), &dispatch.RunOptions{Events: ev.add})
			require.NoError(t, err)
			assert.Equal(t, string(asciiUpper(in)), string(got))
			assert.Zero(t, rep.Speculative)
			assert.Zero(t, ev.count(dispatch.ChunkSpeculated))
			assert.Zero(t, ev.count(dispatch.ChunkStalled))
			for _, h := range rep.Hosts {
				assert.Zero(t, h.Speculative, h.Host)
				assert.Zero(t, h.Stalled, h.Host)
			}
			if tc.slow != "" {
				// Its attempts ran far beyond the stall limit, yet kept
				// making progress: only their silence counts.
				n := 0
				for _, e := range ev.of(dispatch.ChunkDone) {
					if e.Host == tc.slow {
						n++
						assert.Greater(t, e.Duration, 2*opts.Stall.Floor)
					}
				}
				assert.Positive(t, n, "%s did a chunk", tc.slow)
			}
		})
	}
}

// Stall.Off turns detection off: workers silent far beyond the floor are
// not reported stalled.
func TestStallOff(t *testing.T) {
	for _, off := range []bool{false, true} {
		mt, hosts := cluster(t, 2)
		mt.Handle("work", func(ctx context.Context, p *memtransport.Process) int {
			data, _ := io.ReadAll(p.Stdin)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return 1
			}
			p.Stdout.Write(data)
			return 0
		})
		in := lines(40)
		var ev events
		opts := stallOpts()
		opts.Stall = dispatch.Stall{Off: off, Floor: 10 * time.Millisecond, Factor: 1}
		got, _, err := run(t, mt, hosts, opts, &dispatch.Job{Args: []string{"work"}},
			split.Even(bytes.NewReader(in), int64(len(in)), 4, nil), &dispatch.RunOptions{Events: ev.add})
		require.NoError(t, err)
		assert.Equal(t, string(in), string(got))
		if off {
			assert.Zero(t, ev.count(dispatch.ChunkStalled), "off")
		} else {
			assert.Positive(t, ev.count(dispatch.ChunkStalled), "on, with a 10 ms limit")
		}
	}
}

func TestStallOptionsValidated(t *testing.T) {
	mt, hosts := cluster(t, 1)
	for _, st := range []dispatch.Stall{{Factor: -1}, {Floor: -time.Second}, {Answer: -time.Millisecond}} {
		_, err := dispatch.New(mt, hosts, &dispatch.Options{Stall: st})
		assert.True(t, errors.Is(err, dispatch.ErrInvalid), "%+v: %v", st, err)
	}
}

// slowCancel is a transport whose Run on host, once cancelled, takes hold
// long to return, as an SSH transport does with a frozen host that cannot
// be told to stop the command.
type slowCancel struct {
	transport.Transport
	host string
	hold time.Duration
}

func (s slowCancel) Ping(ctx context.Context, host string) error {
	return transport.Ping(ctx, s.Transport, host)
}

func (s slowCancel) Run(ctx context.Context, host string, cmd *transport.Command) error {
	err := s.Transport.Run(ctx, host, cmd)
	if host == s.host && ctx.Err() != nil {
		time.Sleep(s.hold)
	}
	return err
}

// An attempt that a committed copy superseded, still out on a frozen host
// when the host fails its probe, counts as lost: every attempt of a host
// that failed its probe does. Its chunk, committed already, does not run
// again.
func TestSupersededAttemptOnDeadHostIsLost(t *testing.T) {
	mt, hosts := cluster(t, 3)
	t.Cleanup(func() { mt.Host("h2").Hang(false) })
	mt.Handle("work", freezer(freezeSecondOnH2()))
	in := lines(3000)
	var ev events
	hook := ev.add
	opts := stallOpts()
	opts.ProbeTimeout = 200 * time.Millisecond
	got, rep, err := run(t, slowCancel{Transport: mt, host: "h2", hold: 2 * time.Second}, hosts, opts,
		&dispatch.Job{Args: []string{"work"}}, split.Even(bytes.NewReader(in), int64(len(in)), 12, nil),
		&dispatch.RunOptions{Events: hook})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	spec := ev.of(dispatch.ChunkSpeculated)
	require.Len(t, spec, 1)
	lostEv := ev.of(dispatch.ChunkLost)
	require.Len(t, lostEv, 1)
	assert.Equal(t, "h2", lostEv[0].Host)
	assert.Equal(t, spec[0].Chunk, lostEv[0].Chunk)
	assert.ErrorIs(t, lostEv[0].Err, dispatch.ErrStalled)
	assert.Equal(t, 1, rep.Hosts[1].Lost)
	assert.Equal(t, 1, ev.hosts(dispatch.HostDown)["h2"])
	assert.Zero(t, ev.count(dispatch.ChunkCancelled), "the superseded attempt is reported lost, not cancelled")
	assert.Equal(t, 12, ev.count(dispatch.ChunkDone), "every chunk committed once")
}

// pinger wraps a transport with a Ping of its own: it counts the probes of
// each host and holds each probe's answer for the host's delay.
type pinger struct {
	transport.Transport
	mu    sync.Mutex
	pings map[string]int
	delay map[string]time.Duration
}

func (p *pinger) Ping(ctx context.Context, host string) error {
	p.mu.Lock()
	if p.pings == nil {
		p.pings = map[string]int{}
	}
	p.pings[host]++
	d := p.delay[host]
	p.mu.Unlock()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	return transport.Ping(ctx, p.Transport, host)
}

func (p *pinger) of(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pings[host]
}

func (p *pinger) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.pings {
		n += c
	}
	return n
}

// A frozen host is found by its probe, long before the stall limit: its
// silent attempt is stalled once the probe has gone unanswered for
// Stall.Answer, a copy commits elsewhere, and the run ends well before a
// silence of Floor could have been seen.
func TestFrozenHostFoundByProbe(t *testing.T) {
	mt, hosts := cluster(t, 3)
	t.Cleanup(func() { mt.Host("h2").Hang(false) })
	mt.Handle("work", freezer(freezeSecondOnH2()))
	in := lines(3000)
	var ev events
	opts := &dispatch.Options{Slots: 1, ProbeTimeout: time.Minute,
		Stall: dispatch.Stall{Floor: time.Minute, Answer: 50 * time.Millisecond}}
	got, rep, err := run(t, mt, hosts, opts, &dispatch.Job{Args: []string{"work"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 12, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got), "the output is the reference")
	stalled := ev.of(dispatch.ChunkStalled)
	require.Len(t, stalled, 1, "one attempt stalled: %v", stalled)
	assert.Equal(t, "h2", stalled[0].Host)
	assert.Less(t, stalled[0].Duration, opts.Stall.Floor, "stalled by its unanswered probe, not by its silence")
	spec := ev.of(dispatch.ChunkSpeculated)
	require.Len(t, spec, 1)
	assert.Equal(t, stalled[0].Chunk, spec[0].Chunk)
	assert.NotEqual(t, "h2", spec[0].Host)
	assert.Equal(t, 1, rep.Speculative)
	assert.Zero(t, ev.count(dispatch.ChunkLost), "the probe has not failed yet: nothing is lost")
	assert.Zero(t, ev.count(dispatch.HostDown))
	// Neither the floor nor the probe's timeout was waited for.
	assert.Less(t, rep.Elapsed, opts.Stall.Floor)
	assert.Equal(t, 12, rep.Done)
}

// A worker that computes in silence on a live host is not stalled however
// long its silence stays under the stall limit: its host is probed each
// time the silence doubles, answers, and no copy starts. A host that answers late, but
// answers, has its silent attempts stalled and copied, and loses nothing.
func TestSilentWorkerProbes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration // of h1's probes
	}{
		{"host answers", 0},
		{"host answers late", 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mt, hosts := cluster(t, 2)
			mt.Handle("work", func(ctx context.Context, p *memtransport.Process) int {
				data, _ := io.ReadAll(p.Stdin)
				wait := 10 * time.Millisecond
				if p.Host == "h1" {
					wait = 300 * time.Millisecond // silent for 6 times Answer, 18 times the probe's silence
				}
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return 1
				}
				p.Stdout.Write(asciiUpper(data))
				return 0
			})
			pt := &pinger{Transport: mt, delay: map[string]time.Duration{"h1": tc.delay}}
			in := lines(400)
			var ev events
			opts := &dispatch.Options{Slots: 1, ProbeTimeout: time.Minute,
				Stall: dispatch.Stall{Floor: time.Minute, Answer: 50 * time.Millisecond}}
			got, rep, err := run(t, pt, hosts, opts, &dispatch.Job{Args: []string{"work"}},
				split.Even(bytes.NewReader(in), int64(len(in)), 8, nil), &dispatch.RunOptions{Events: ev.add})
			require.NoError(t, err)
			assert.Equal(t, string(asciiUpper(in)), string(got))
			assert.Positive(t, pt.count(), "the silent attempts' host was probed")
			assert.Zero(t, ev.count(dispatch.ChunkLost))
			assert.Zero(t, ev.count(dispatch.HostDown))
			assert.Equal(t, 8, ev.count(dispatch.ChunkDone), "every chunk committed once")
			if tc.delay == 0 {
				assert.Zero(t, ev.count(dispatch.ChunkStalled))
				assert.Zero(t, rep.Speculative)
				// 300 ms of silence: probes from 17 ms on, each time
				// the silence doubles (17, 33, 67, 133, 267 ms, and one
				// more if a look comes late), not one per look.
				assert.LessOrEqual(t, pt.count(), 6*ev.hosts(dispatch.ChunkDone)["h1"],
					"a probe each time the silence doubles, not one per look")
				return
			}
			assert.Positive(t, ev.hosts(dispatch.ChunkStalled)["h1"], "a late answer stalls the silent attempt")
			assert.Zero(t, ev.hosts(dispatch.ChunkStalled)["h2"])
			assert.Equal(t, rep.Speculative, ev.count(dispatch.ChunkSpeculated))
		})
	}
}

// A host that freezes while its worker computes in silence, after it
// answered the probe that silence began with, is found by the probe sent
// when the silence has doubled: long before the stall limit.
func TestHostFreezesDuringSilence(t *testing.T) {
	mt, hosts := cluster(t, 3)
	t.Cleanup(func() { mt.Host("h2").Hang(false) })
	var froze atomic.Bool
	mt.Handle("work", func(ctx context.Context, p *memtransport.Process) int {
		data, err := io.ReadAll(p.Stdin)
		if err != nil {
			return 1
		}
		pause := 10 * time.Millisecond
		if p.Host == "h2" && froze.CompareAndSwap(false, true) {
			// Silent for 120 ms (its host answers the probes sent as
			// that silence doubles from 17 ms on), then the host
			// freezes, still silent.
			pause = 120 * time.Millisecond
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return 1
		}
		if p.Host == "h2" && pause > 10*time.Millisecond {
			p.Control().Hang(true)
		}
		if _, err := p.Stdout.Write(asciiUpper(data)); err != nil {
			return 1
		}
		return 0
	})
	pt := &pinger{Transport: mt}
	in := lines(1200)
	var ev events
	opts := &dispatch.Options{Slots: 1, ProbeTimeout: time.Minute,
		Stall: dispatch.Stall{Floor: time.Minute, Answer: 50 * time.Millisecond}}
	got, rep, err := run(t, pt, hosts, opts, &dispatch.Job{Args: []string{"work"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 12, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	stalled := ev.of(dispatch.ChunkStalled)
	require.Len(t, stalled, 1, "one attempt stalled: %v", stalled)
	assert.Equal(t, "h2", stalled[0].Host)
	assert.Less(t, stalled[0].Duration, time.Second, "found by a probe, not by the stall limit")
	assert.GreaterOrEqual(t, pt.of("h2"), 2, "probed as the silence began, and again once it had doubled")
	assert.Equal(t, 1, rep.Speculative)
	assert.Equal(t, 12, rep.Done)
}
