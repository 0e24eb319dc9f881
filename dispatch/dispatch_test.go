package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/memtransport"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		coordinatorChild()
	}
	goleak.VerifyTestMain(m)
}

// cluster is a memtransport with n hosts named h1..hn.
func cluster(t *testing.T, n int) (*memtransport.Transport, []string) {
	t.Helper()
	mt := memtransport.New(nil)
	t.Cleanup(func() { mt.Close() })
	var hosts []string
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("h%d", i)
		mt.AddHost(h)
		hosts = append(hosts, h)
	}
	return mt, hosts
}

// events collects a run's events.
type events struct {
	mu  sync.Mutex
	all []dispatch.Event
}

func (e *events) add(ev dispatch.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) count(k dispatch.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func (e *events) hosts(k dispatch.EventKind) map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[string]int{}
	for _, ev := range e.all {
		if ev.Kind == k {
			m[ev.Host]++
		}
	}
	return m
}

func lines(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "line %05d of the input\n", i)
	}
	return b.Bytes()
}

var upper = []string{"tr", "a-z", "A-Z"}

// run runs job over s on a new Dispatcher with opts, and the run options
// ro when given.
func run(t *testing.T, tr transport.Transport, hosts []string, opts *dispatch.Options, job *dispatch.Job, s split.Splitter, ro ...*dispatch.RunOptions) ([]byte, *dispatch.Report, error) {
	t.Helper()
	var out bytes.Buffer
	d, err := dispatch.New(tr, hosts, opts)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var runOpts *dispatch.RunOptions
	if len(ro) > 0 {
		runOpts = ro[0]
	}
	rep, err := d.Run(ctx, job, s, gather.Ordered(&out, nil), runOpts)
	require.NotNil(t, rep)
	return out.Bytes(), rep, err
}

// asciiUpper is what tr a-z A-Z does.
func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// upfile is a Files-mode worker: upfile IN OUT uppercases IN into OUT.
func upfile(ctx context.Context, p *memtransport.Process) int {
	if len(p.Args) != 3 {
		return p.Fail(2, "usage: upfile IN OUT")
	}
	data, err := p.ReadFile(p.Args[1])
	if err != nil {
		return p.Fail(1, "upfile: %v", err)
	}
	if err := p.WriteFile(p.Args[2], asciiUpper(data), 0o644); err != nil {
		return p.Fail(1, "upfile: %v", err)
	}
	return 0
}

func TestRunOrderedOutput(t *testing.T) {
	inputs := []struct {
		name string
		in   []byte
	}{
		{"empty", []byte{}},
		{"one line", []byte("hello\n")},
		{"no trailing newline", []byte("a\nb\nc")},
		{"CRLF", []byte("a\r\nb\r\nc\r\n")},
		{"binary", []byte{0, 1, 2, '\n', 0xff, 0xfe, 0, '\n', 'x'}},
		{"many lines", lines(5000)},
		{"line longer than a block", append(bytes.Repeat([]byte("z"), 10000), "\nshort\n"...)},
	}
	jobs := []struct {
		name string
		job  dispatch.Job
	}{
		{"stream", dispatch.Job{Args: upper}},
		{"files", dispatch.Job{Mode: dispatch.Files, Args: []string{"upfile", "{in}", "{out}"}, Dir: "work"}},
		{"files stdout", dispatch.Job{Mode: dispatch.Files, Args: []string{"catup", "{in}"}, Dir: "work"}},
	}
	for _, tc := range inputs {
		for _, jc := range jobs {
			t.Run(tc.name+"/"+jc.name, func(t *testing.T) {
				mt, hosts := cluster(t, 3)
				mt.Handle("upfile", upfile)
				job := jc.job
				mt.Handle("catup", func(ctx context.Context, p *memtransport.Process) int {
					data, err := p.ReadFile(p.Args[1])
					if err != nil {
						return p.Fail(1, "%v", err)
					}
					p.Stdout.Write(asciiUpper(data))
					return 0
				})
				got, rep, err := run(t, mt, hosts, nil, &job, split.Blocks(bytes.NewReader(tc.in), int64(len(tc.in)), 1024, nil))
				require.NoError(t, err)
				assert.Equal(t, string(asciiUpper(tc.in)), string(got))
				assert.Equal(t, rep.Chunks, rep.Done)
				assert.Equal(t, int64(len(tc.in)), rep.BytesIn)
				assert.Equal(t, int64(len(tc.in)), rep.BytesOut)
				if job.Mode == dispatch.Files {
					// Every chunk and result file was cleaned up.
					for _, h := range hosts {
						for _, f := range mt.Host(h).Files() {
							assert.NotContains(t, f, ".dproc/", "left on %s", h)
						}
					}
				}
			})
		}
	}
}

func TestNewRejectsBadArguments(t *testing.T) {
	mt, _ := cluster(t, 1)
	cases := []struct {
		name  string
		hosts []string
		opts  *dispatch.Options
		is    error
	}{
		{"zero hosts", nil, nil, dispatch.ErrNoHosts},
		{"empty host", []string{""}, nil, dispatch.ErrInvalid},
		{"duplicate host", []string{"h1", "h1"}, nil, dispatch.ErrInvalid},
		{"negative slots", []string{"h1"}, &dispatch.Options{Slots: -1}, dispatch.ErrInvalid},
		{"slots for unknown host", []string{"h1"}, &dispatch.Options{HostSlots: map[string]int{"h9": 2}}, dispatch.ErrInvalid},
		{"bad share", []string{"h1"}, &dispatch.Options{Halt: dispatch.Halt{Share: 2}}, dispatch.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dispatch.New(mt, tc.hosts, tc.opts)
			require.ErrorIs(t, err, tc.is)
		})
	}
	_, err := dispatch.New(nil, []string{"h1"}, nil)
	require.ErrorIs(t, err, dispatch.ErrInvalid)
}

func TestRunRejectsBadJob(t *testing.T) {
	mt, hosts := cluster(t, 1)
	in := lines(10)
	for name, job := range map[string]*dispatch.Job{
		"nil":        nil,
		"no command": {},
		// A Job has no streams to set: the type rules that out.
		"args and shell":   {Args: []string{"cat"}, Shell: "cat"},
		"files without in": {Mode: dispatch.Files, Args: []string{"cat"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := run(t, mt, hosts, nil, job, split.Blocks(bytes.NewReader(in), int64(len(in)), 64, nil))
			require.ErrorIs(t, err, dispatch.ErrInvalid)
		})
	}
}

// failOn returns a worker that uppercases its input, except that it exits
// with status 3 and a message on stderr when the input contains bad.
func failOn(bad string) memtransport.Func {
	return func(ctx context.Context, p *memtransport.Process) int {
		data, err := io.ReadAll(p.Stdin)
		if err != nil {
			return 1
		}
		if bytes.Contains(data, []byte(bad)) {
			fmt.Fprintf(p.Stderr, "lots of noise\nworker: cannot handle %q\n", bad)
			return 3
		}
		p.Stdout.Write(asciiUpper(data))
		return 0
	}
}

func TestWorkerFailureNamesEverything(t *testing.T) {
	mt, hosts := cluster(t, 3)
	mt.Handle("work", failOn("line 00042"))
	in := lines(100)
	dir := t.TempDir()
	dst := filepath.Join(dir, "final_result.txt")
	g, err := gather.File(dst, nil)
	require.NoError(t, err)
	var ev events
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	job := &dispatch.Job{Args: []string{"work", "--fast"}}
	rep, err := d.Run(context.Background(), job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), g, &dispatch.RunOptions{Events: ev.add})
	require.Error(t, err)

	var ce *dispatch.ChunkError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 4, ce.Chunk) // lines 40-49
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.Code)
	assert.Equal(t, ce.Host, ee.Host)
	assert.Contains(t, string(ee.Stderr), `cannot handle "line 00042"`)
	assert.ErrorIs(t, err, transport.ErrFailed)
	msg := err.Error()
	for _, want := range []string{"chunk 4", ce.Host, "work --fast", "status 3", "cannot handle"} {
		assert.Contains(t, msg, want)
	}
	assert.Equal(t, 1, ev.count(dispatch.ChunkFailed))
	assert.Equal(t, 1, rep.Failed)

	// No result file, not even a partial one.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestMissingWorker(t *testing.T) {
	mt, hosts := cluster(t, 2)
	in := lines(10)
	_, _, err := run(t, mt, hosts, nil, &dispatch.Job{Args: []string{"no-such-worker"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 2, nil))
	require.ErrorIs(t, err, transport.ErrCommandNotFound)
	assert.Contains(t, err.Error(), "no-such-worker")
}

func TestCancelStopsEveryWorker(t *testing.T) {
	mt, hosts := cluster(t, 3)
	var started atomic.Int32
	mt.Handle("slow", func(ctx context.Context, p *memtransport.Process) int {
		started.Add(1)
		<-ctx.Done()
		return 1
	})
	in := lines(100)
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := d.Run(ctx, &dispatch.Job{Args: []string{"slow"}},
			split.Even(bytes.NewReader(in), int64(len(in)), 20, nil), gather.Ordered(io.Discard, nil), nil)
		errc <- err
	}()
	require.Eventually(t, func() bool { return started.Load() == 6 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, h := range hosts {
		assert.Zero(t, mt.Host(h).Running(), "worker still running on %s", h)
	}
}

func TestLostAttemptMovesToAnotherHost(t *testing.T) {
	mt, hosts := cluster(t, 3)
	mt.Host("h1").FailNext(2, nil)
	in := lines(300)
	var ev events
	got, rep, err := run(t, mt, hosts, &dispatch.Options{ProbeInterval: time.Millisecond},
		&dispatch.Job{Args: upper}, split.Even(bytes.NewReader(in), int64(len(in)), 12, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.GreaterOrEqual(t, ev.count(dispatch.ChunkLost), 1)
	assert.GreaterOrEqual(t, ev.hosts(dispatch.HostDown)["h1"], 1)
	assert.Equal(t, 12, rep.Done)
	assert.Equal(t, 0, rep.Failed)
}

func TestHostKilledMidRun(t *testing.T) {
	mt, hosts := cluster(t, 3)
	var killed atomic.Bool
	mt.Handle("work", func(ctx context.Context, p *memtransport.Process) int {
		if p.Host == "h2" && killed.CompareAndSwap(false, true) {
			io.CopyN(p.Stdout, p.Stdin, 10) // some output, then the host dies
			p.Control().Kill()
			<-ctx.Done()
			return 0
		}
		data, _ := io.ReadAll(p.Stdin)
		p.Stdout.Write(asciiUpper(data))
		return 0
	})
	in := lines(1000)
	var ev events
	got, rep, err := run(t, mt, hosts, &dispatch.Options{ProbeInterval: 5 * time.Millisecond},
		&dispatch.Job{Args: []string{"work"}}, split.Even(bytes.NewReader(in), int64(len(in)), 30, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got), "output complete, in order, exactly once")
	assert.True(t, killed.Load())
	assert.Equal(t, 1, ev.hosts(dispatch.HostDown)["h2"])
	assert.True(t, rep.Hosts[1].Down)
	// Every attempt running on h2 when it died is lost: one per slot at most.
	assert.GreaterOrEqual(t, rep.Hosts[1].Lost, 1)
	assert.LessOrEqual(t, rep.Hosts[1].Lost, rep.Hosts[1].Slots)
}

func TestHungHostTimesOut(t *testing.T) {
	mt, hosts := cluster(t, 3)
	mt.Host("h2").Hang(true)
	in := lines(200)
	var ev events
	// Stall detection off: it would find the hung host before the
	// timeout does (TestFrozenHostAttemptIsLost covers that path).
	got, _, err := run(t, mt, hosts, &dispatch.Options{Timeout: 200 * time.Millisecond, ProbeInterval: 10 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond,
		Stall: dispatch.Stall{Off: true}},
		// Enough chunks that h2's slots surely pull one before the others finish.
		&dispatch.Job{Args: upper}, split.Even(bytes.NewReader(in), int64(len(in)), 40, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.GreaterOrEqual(t, ev.count(dispatch.ChunkLost), 1)
	for _, e := range ev.all {
		if e.Kind == dispatch.ChunkLost {
			assert.ErrorIs(t, e.Err, dispatch.ErrAttemptTimeout)
			assert.ErrorIs(t, e.Err, transport.ErrLost)
		}
	}
}

func TestEveryHostDownFailsPromptly(t *testing.T) {
	mt, hosts := cluster(t, 3)
	for _, h := range hosts {
		mt.Host(h).SetDown(true)
	}
	in := lines(50)
	start := time.Now()
	_, _, err := run(t, mt, hosts, &dispatch.Options{ProbeInterval: 10 * time.Millisecond},
		&dispatch.Job{Args: upper}, split.Even(bytes.NewReader(in), int64(len(in)), 5, nil))
	var hd *dispatch.HostsDownError
	require.ErrorAs(t, err, &hd)
	assert.Less(t, time.Since(start), 10*time.Second)
	for _, h := range hosts {
		require.Contains(t, hd.Errs, h)
		assert.ErrorIs(t, hd.Errs[h], transport.ErrLost)
		assert.Contains(t, err.Error(), h)
	}
}

func TestHostComesBack(t *testing.T) {
	mt, hosts := cluster(t, 1)
	mt.Host("h1").FailNext(1, nil)
	in := lines(50)
	var ev events
	got, _, err := run(t, mt, hosts, &dispatch.Options{ProbeInterval: time.Millisecond},
		&dispatch.Job{Args: upper}, split.Even(bytes.NewReader(in), int64(len(in)), 5, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 1, ev.count(dispatch.HostDown))
	assert.Equal(t, 1, ev.count(dispatch.HostUp))
}

func TestChunkLostTooOften(t *testing.T) {
	mt, hosts := cluster(t, 2)
	var revived sync.WaitGroup
	defer revived.Wait()
	mt.Handle("crash", func(ctx context.Context, p *memtransport.Process) int {
		// This chunk kills every host it touches; the host comes back
		// long before the dispatcher probes it.
		h := p.Control()
		revived.Add(1)
		h.Kill()
		time.AfterFunc(time.Millisecond, func() { h.Revive(); revived.Done() })
		<-ctx.Done()
		return 0
	})
	in := []byte("poison\n")
	var ev events
	_, _, err := run(t, mt, hosts, &dispatch.Options{MaxLost: 3, ProbeInterval: 50 * time.Millisecond},
		&dispatch.Job{Args: []string{"crash"}}, split.Even(bytes.NewReader(in), int64(len(in)), 1, nil), &dispatch.RunOptions{Events: ev.add})
	var le *dispatch.LostError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 0, le.Chunk)
	assert.Len(t, le.Errs, 4, "lost MaxLost+1 times")
	assert.ErrorIs(t, err, transport.ErrLost)
	for _, h := range hosts {
		assert.Contains(t, err.Error(), h, "every host's error is listed")
	}
	assert.Equal(t, 4, ev.count(dispatch.ChunkLost))
}

func TestRetries(t *testing.T) {
	for _, retries := range []int{0, 1, 2} {
		t.Run(fmt.Sprint(retries), func(t *testing.T) {
			mt, hosts := cluster(t, 3)
			var mu sync.Mutex
			seen := map[string]int{}
			// Each chunk fails on its first two attempts.
			mt.Handle("flaky", func(ctx context.Context, p *memtransport.Process) int {
				data, _ := io.ReadAll(p.Stdin)
				mu.Lock()
				seen[string(data)]++
				n := seen[string(data)]
				mu.Unlock()
				if n <= 2 {
					return p.Fail(7, "flaky failure %d", n)
				}
				p.Stdout.Write(asciiUpper(data))
				return 0
			})
			in := lines(40)
			var ev events
			got, _, err := run(t, mt, hosts, &dispatch.Options{Retries: retries},
				&dispatch.Job{Args: []string{"flaky"}}, split.Even(bytes.NewReader(in), int64(len(in)), 4, nil), &dispatch.RunOptions{Events: ev.add})
			if retries < 2 {
				var ee *transport.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, 7, ee.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, string(asciiUpper(in)), string(got))
			assert.Equal(t, 8, ev.count(dispatch.ChunkRetry))

			// With one chunk and free slots everywhere, each retry goes
			// to a host the chunk has not failed on.
			one := []byte("only line\n")
			ev = events{}
			got, _, err = run(t, mt, hosts, &dispatch.Options{Retries: retries},
				&dispatch.Job{Args: []string{"flaky"}}, split.Even(bytes.NewReader(one), int64(len(one)), 1, nil), &dispatch.RunOptions{Events: ev.add})
			require.NoError(t, err)
			assert.Equal(t, "ONLY LINE\n", string(got))
			var tried []string
			for _, e := range ev.all {
				if e.Kind == dispatch.ChunkStarted {
					tried = append(tried, e.Host)
				}
			}
			assert.ElementsMatch(t, hosts, tried, "each host tried once")
		})
	}
}

func TestKeepGoingReportsEveryFailure(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Handle("work", failOn("7 of"))
	in := lines(100) // chunks of 10 lines: lines x7 in each
	_, rep, err := run(t, mt, hosts, &dispatch.Options{Halt: dispatch.Halt{KeepGoing: true}},
		&dispatch.Job{Args: []string{"work"}}, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil))
	var fc *dispatch.FailedChunksError
	require.ErrorAs(t, err, &fc)
	assert.Len(t, fc.Chunks, 10)
	assert.False(t, fc.Stopped)
	for i, c := range fc.Chunks {
		assert.Equal(t, i, c.Chunk)
	}
	assert.Equal(t, 10, rep.Failed)

	mt.Handle("work", failOn("line 0001"))
	_, rep, err = run(t, mt, hosts, &dispatch.Options{Halt: dispatch.Halt{KeepGoing: true}},
		&dispatch.Job{Args: []string{"work"}}, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil))
	require.ErrorAs(t, err, &fc)
	assert.Len(t, fc.Chunks, 1)
	assert.Equal(t, 1, fc.Chunks[0].Chunk)
	assert.Equal(t, 9, rep.Done, "every other chunk ran")
}

func TestHaltShareStopsEarly(t *testing.T) {
	mt, hosts := cluster(t, 1)
	mt.Handle("work", failOn("line"))
	in := lines(1000)
	_, rep, err := run(t, mt, hosts, &dispatch.Options{Slots: 1, Halt: dispatch.Halt{KeepGoing: true, Share: 0.5}},
		&dispatch.Job{Args: []string{"work"}}, split.Even(bytes.NewReader(in), int64(len(in)), 100, nil))
	var fc *dispatch.FailedChunksError
	require.ErrorAs(t, err, &fc)
	assert.True(t, fc.Stopped)
	assert.Less(t, rep.Chunks, 100, "stopped before reading every chunk")
}

func TestSetupInstallsOnce(t *testing.T) {
	mt, hosts := cluster(t, 3)
	mt.Handle("./worker.sh", func(ctx context.Context, p *memtransport.Process) int {
		script, err := p.ReadFile("worker.sh")
		if err != nil || !bytes.Contains(script, []byte("tr a-z A-Z")) {
			return p.Fail(1, "worker.sh missing: %v", err)
		}
		data, _ := io.ReadAll(p.Stdin)
		p.Stdout.Write(asciiUpper(data))
		return 0
	})
	job := &dispatch.Job{
		Args: []string{"./worker.sh"}, Dir: "processing",
		Setup: []transport.File{{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ntr a-z A-Z\n")}},
	}
	in := lines(100)
	puts := func() map[string]int64 {
		m := map[string]int64{}
		for _, h := range hosts {
			m[h] = mt.Host(h).Stats().Puts
		}
		return m
	}
	// A host may not be needed before the run ends, so count per host
	// that did its setup.
	installed := map[string]bool{}
	for round := 0; round < 3; round++ {
		before := puts()
		var ev events
		got, _, err := run(t, mt, hosts, nil, job, split.Even(bytes.NewReader(in), int64(len(in)), 6, nil), &dispatch.RunOptions{Events: ev.add})
		require.NoError(t, err)
		assert.Equal(t, string(asciiUpper(in)), string(got))
		assert.GreaterOrEqual(t, ev.count(dispatch.HostReady), 1)
		after := puts()
		for _, h := range hosts {
			if installed[h] {
				assert.Equal(t, before[h], after[h], "%s already has worker.sh: nothing sent", h)
			} else {
				assert.LessOrEqual(t, after[h]-before[h], int64(1), "at most one Put to %s", h)
			}
			if _, err := mt.Host(h).Stat("processing/worker.sh"); err == nil {
				installed[h] = true
			}
		}
	}
	// Hosts that ran chunks have worker.sh with its mode.
	for _, h := range hosts {
		if !installed[h] {
			continue
		}
		fi, err := mt.Host(h).Stat("processing/worker.sh")
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	}
}

func TestSpeculativeCopyWins(t *testing.T) {
	mt, hosts := cluster(t, 3)
	var stuck atomic.Bool
	mt.Handle("work", func(ctx context.Context, p *memtransport.Process) int {
		data, _ := io.ReadAll(p.Stdin)
		if bytes.Contains(data, []byte("line 00090")) && stuck.CompareAndSwap(false, true) {
			<-ctx.Done() // a straggler: never finishes by itself
			return 1
		}
		p.Stdout.Write(asciiUpper(data))
		return 0
	})
	in := lines(100)
	var ev events
	d, err := dispatch.New(mt, hosts, &dispatch.Options{Speculate: 3, Slots: 1})
	require.NoError(t, err)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first attempt at chunk 9 never ends by itself: only a
	// speculative copy can finish the run.
	_, err = d.Run(ctx, &dispatch.Job{Args: []string{"work"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), gather.Ordered(&out, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), out.String())
	assert.True(t, stuck.Load())
	assert.Equal(t, 1, ev.count(dispatch.ChunkSpeculated))
	assert.Equal(t, 1, ev.count(dispatch.ChunkCancelled))
}

// refusing is a transport whose host "h1" refuses every call with an error
// that is neither lost nor a worker's failure, as a changed host key is.
type refusing struct{ transport.Transport }

var errRefused = errors.New("host key changed: possible man-in-the-middle")

func (r refusing) Run(ctx context.Context, host string, cmd *transport.Command) error {
	if host == "h1" {
		return &transport.OpError{Op: "dial", Host: host, Err: errRefused}
	}
	return r.Transport.Run(ctx, host, cmd)
}

func (r refusing) Put(ctx context.Context, host, p string, rd io.Reader, mode os.FileMode) error {
	if host == "h1" {
		return &transport.OpError{Op: "dial", Host: host, Err: errRefused}
	}
	return r.Transport.Put(ctx, host, p, rd, mode)
}

func (r refusing) Get(ctx context.Context, host, p string, w io.Writer) error {
	if host == "h1" {
		return &transport.OpError{Op: "dial", Host: host, Err: errRefused}
	}
	return r.Transport.Get(ctx, host, p, w)
}

// A host that refuses the work (not lost, not a failed worker) stops the
// run with its error: moving its chunks to the other hosts would hide it.
func TestRefusingHostFailsRun(t *testing.T) {
	for _, setup := range []bool{false, true} {
		t.Run(fmt.Sprint("setup=", setup), func(t *testing.T) {
			mt, hosts := cluster(t, 3)
			job := &dispatch.Job{Args: upper}
			if setup {
				job.Setup = []transport.File{{Path: "w.sh", Data: []byte("x")}}
			}
			in := lines(500)
			dir := t.TempDir()
			g, err := gather.File(filepath.Join(dir, "out"), nil)
			require.NoError(t, err)
			d, err := dispatch.New(refusing{mt}, hosts, nil)
			require.NoError(t, err)
			_, err = d.Run(context.Background(), job, split.Even(bytes.NewReader(in), int64(len(in)), 30, nil), g, nil)
			require.ErrorIs(t, err, errRefused)
			assert.False(t, transport.IsLost(err))
			assert.Contains(t, err.Error(), `"h1"`)
			entries, _ := os.ReadDir(dir)
			assert.Empty(t, entries, "no output file")
		})
	}
}
