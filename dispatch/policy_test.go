package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/memtransport"
)

// readSome is a worker that reads n bytes of its input (as head does),
// writes them and exits 0.
func readSome(n int64) memtransport.Func {
	return func(ctx context.Context, p *memtransport.Process) int {
		io.CopyN(p.Stdout, p.Stdin, n)
		return 0
	}
}

// bigChunks is an input of 4 chunks of about 115 KB each: more than the
// transport buffers, so unread input shows.
func bigChunks() ([]byte, split.Splitter) {
	in := lines(20000)
	return in, split.Even(bytes.NewReader(in), int64(len(in)), 4, nil)
}

func TestUnreadInputIsReported(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Handle("head10", readSome(10))
	in, s := bigChunks()
	var ev events
	got, rep, err := run(t, mt, hosts, nil,
		&dispatch.Job{Args: []string{"head10"}}, s, &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err, "by default unread input is reported, not an error")
	assert.Len(t, got, 40)
	assert.Equal(t, []int{0, 1, 2, 3}, rep.UnreadChunks)
	var perHost, perEvent int64
	for _, h := range rep.Hosts {
		perHost += h.Unread
	}
	for _, e := range ev.all {
		if e.Kind == dispatch.ChunkDone {
			assert.Positive(t, e.Unread, "chunk %d", e.Chunk)
			assert.Contains(t, e.String(), "unread=")
			perEvent += e.Unread
		}
	}
	assert.Equal(t, rep.Unread, perHost)
	assert.Equal(t, rep.Unread, perEvent)
	// The transport counts what the worker left, exactly, and takes the
	// whole chunk to do so.
	assert.Equal(t, int64(len(in))-4*10, rep.Unread)
	assert.Equal(t, int64(len(in)), rep.BytesIn)

	// A worker that reads everything leaves nothing unread.
	_, s = bigChunks()
	_, rep, err = run(t, mt, hosts, nil, &dispatch.Job{Args: upper}, s)
	require.NoError(t, err)
	assert.Zero(t, rep.Unread)
	assert.Empty(t, rep.UnreadChunks)
	for _, h := range rep.Hosts {
		assert.Zero(t, h.Unread)
	}
}

// TestUnreadCountedAtTheWorker runs workers that read only the start of
// chunks smaller than an OS pipe's buffer, through a real transport: the
// pipe takes the whole chunk, yet what the worker left is reported, and
// RequireFullRead fails it.
func TestUnreadCountedAtTheWorker(t *testing.T) {
	hosts := []string{"n1"}
	lt, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: hosts})
	require.NoError(t, err)
	defer lt.Close()
	in := lines(1000) // 4 chunks of 6 KB
	chunks := func() split.Splitter { return split.Even(bytes.NewReader(in), int64(len(in)), 4, nil) }
	for _, tc := range []struct {
		name   string
		shell  string
		unread int64
		chunks []int
	}{
		{"head -c 10", "head -c 10", int64(len(in)) - 4*10, []int{0, 1, 2, 3}},
		{"cat", "cat", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rep, err := run(t, lt, hosts, nil, &dispatch.Job{Shell: tc.shell}, chunks())
			require.NoError(t, err)
			assert.Equal(t, tc.unread, rep.Unread)
			assert.Equal(t, tc.chunks, rep.UnreadChunks)

			_, _, err = run(t, lt, hosts, &dispatch.Options{RequireFullRead: true}, &dispatch.Job{Shell: tc.shell}, chunks())
			if tc.unread == 0 {
				require.NoError(t, err)
				return
			}
			var ue *dispatch.UnreadError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, int64(10), ue.Read, "the worker read 10 bytes, though the pipe took the whole chunk")
			assert.Equal(t, int64(len(in))/4, ue.Size)
		})
	}
}

func TestRequireFullRead(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Handle("head10", readSome(10))
	dir := t.TempDir()
	g, err := gather.File(filepath.Join(dir, "out"), nil)
	require.NoError(t, err)
	var ev events
	d, err := dispatch.New(mt, hosts, &dispatch.Options{RequireFullRead: true, Retries: 1})
	require.NoError(t, err)
	_, s := bigChunks()
	_, err = d.Run(context.Background(), &dispatch.Job{Args: []string{"head10"}, Name: "head -c 10"}, s, g, &dispatch.RunOptions{Events: ev.add})
	require.ErrorIs(t, err, dispatch.ErrUnread)
	var ue *dispatch.UnreadError
	require.ErrorAs(t, err, &ue)
	var ce *dispatch.ChunkError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 2, ce.Attempts, "retried within Retries like a failure")
	assert.Equal(t, ce.Host, ue.Host)
	assert.Equal(t, "head -c 10", ue.Command)
	assert.Less(t, ue.Read, ue.Size)
	msg := err.Error()
	assert.Equal(t, 1, strings.Count(msg, fmt.Sprintf("%q", ue.Host)), msg)
	assert.Contains(t, msg, `command "head -c 10" exited 0 but read only`)
	assert.Positive(t, ev.count(dispatch.ChunkRetry))
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "no output file")
}

// A run under Halt.KeepGoing with a journal keeps every good chunk, and a
// rerun with the worker fixed runs only the failed chunk.
func TestKeepGoingThenResumeFailed(t *testing.T) {
	mt, hosts := cluster(t, 3)
	w := &countingWorker{runs: map[string]int{}, fail: "line 00055"}
	mt.Handle("work", w.fn)
	in := lines(100)
	dir := t.TempDir()
	out, jdir := filepath.Join(dir, "out.txt"), filepath.Join(dir, "journal")
	job := &dispatch.Job{Args: []string{"work"}}
	runOnce := func(resume bool) (*dispatch.Report, error) {
		g, err := gather.File(out, nil)
		require.NoError(t, err)
		d, err := dispatch.New(mt, hosts, &dispatch.Options{Halt: dispatch.Halt{KeepGoing: true}})
		require.NoError(t, err)
		return d.Run(context.Background(), job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), g,
			&dispatch.RunOptions{Journal: jdir, Resume: resume})
	}

	rep, err := runOnce(false)
	var fc *dispatch.FailedChunksError
	require.ErrorAs(t, err, &fc)
	assert.Equal(t, []int{5}, fc.Indexes())
	assert.Equal(t, 9, rep.Done)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "1 chunk(s) failed (5):"), msg)
	host := fc.Chunks[0].Host
	assert.Equal(t, 1, strings.Count(msg, fmt.Sprintf("%q", host)), "host named once: %s", msg)
	for _, want := range []string{"chunk 5", `command "work"`, "status 9", `cannot do "line 00055"`} {
		assert.Contains(t, msg, want)
	}
	_, statErr := os.Stat(out)
	require.ErrorIs(t, statErr, os.ErrNotExist, "no output with a chunk missing")
	kept, err := filepath.Glob(filepath.Join(jdir, "results", "*.out"))
	require.NoError(t, err)
	assert.Len(t, kept, 9, "every good chunk's output is kept")
	assert.Equal(t, 9, journaled(t, filepath.Join(jdir, "journal.log")))

	w.mu.Lock()
	w.fail = ""
	w.mu.Unlock()
	w.reset()
	rep, err = runOnce(true)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"line 00050 of the input": 1}, w.snapshot(), "only the failed chunk ran")
	assert.Equal(t, 9, rep.Resumed)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
}

// hangFirst hangs on its first n attempts (until cancelled) and
// uppercases its input afterwards.
func hangFirst(n int32) (memtransport.Func, *atomic.Int32) {
	var calls atomic.Int32
	return func(ctx context.Context, p *memtransport.Process) int {
		if calls.Add(1) <= n {
			<-ctx.Done()
			return 1
		}
		data, _ := io.ReadAll(p.Stdin)
		p.Stdout.Write(asciiUpper(data))
		return 0
	}, &calls
}

func TestTimeoutOnHealthyHostFailsAttempt(t *testing.T) {
	for _, retries := range []int{0, 1} {
		t.Run(fmt.Sprint("retries=", retries), func(t *testing.T) {
			mt, hosts := cluster(t, 2)
			fn, calls := hangFirst(1)
			mt.Handle("work", fn)
			in := []byte("one\n")
			var ev events
			got, rep, err := run(t, mt, hosts, &dispatch.Options{Retries: retries, Timeout: 250 * time.Millisecond},
				&dispatch.Job{Args: []string{"work"}, Name: "my worker"},
				split.Even(bytes.NewReader(in), int64(len(in)), 1, nil), &dispatch.RunOptions{Events: ev.add})
			assert.Zero(t, ev.count(dispatch.HostDown), "a host that answers its probe is not down")
			assert.Zero(t, ev.count(dispatch.ChunkLost))
			timeouts := 0
			for _, h := range rep.Hosts {
				timeouts += h.Timeouts
				assert.Zero(t, h.Lost)
			}
			assert.Equal(t, 1, timeouts)
			if retries == 0 {
				require.ErrorIs(t, err, dispatch.ErrAttemptTimeout)
				assert.False(t, transport.IsLost(err))
				var ce *dispatch.ChunkError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, fmt.Sprintf(`chunk 0: run on host %q: command "my worker": attempt timed out after 250ms`, ce.Host), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "ONE\n", string(got))
			assert.Equal(t, int32(2), calls.Load())
			require.Equal(t, 1, ev.count(dispatch.ChunkRetry))
			for _, e := range ev.all {
				if e.Kind == dispatch.ChunkRetry {
					assert.ErrorIs(t, e.Err, dispatch.ErrAttemptTimeout)
					assert.NotErrorIs(t, e.Err, transport.ErrLost)
				}
			}
		})
	}
}

// With every worker hung, a relative timeout still ends the run: before a
// median exists, TimeoutFallback bounds the attempts.
func TestTimeoutFactorFallbackEndsHungRun(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Handle("hang", func(ctx context.Context, p *memtransport.Process) int {
		<-ctx.Done()
		return 1
	})
	in := lines(40)
	var ev events
	_, rep, err := run(t, mt, hosts, &dispatch.Options{TimeoutFactor: 2, TimeoutFallback: 30 * time.Millisecond, Halt: dispatch.Halt{KeepGoing: true}},
		&dispatch.Job{Args: []string{"hang"}}, split.Even(bytes.NewReader(in), int64(len(in)), 4, nil), &dispatch.RunOptions{Events: ev.add})
	var fc *dispatch.FailedChunksError
	require.ErrorAs(t, err, &fc)
	assert.Equal(t, []int{0, 1, 2, 3}, fc.Indexes())
	assert.ErrorIs(t, err, dispatch.ErrAttemptTimeout)
	for _, c := range fc.Chunks {
		assert.Contains(t, hosts, c.Host)
		assert.Contains(t, c.Error(), fmt.Sprintf("chunk %d: run on host %q", c.Chunk, c.Host))
	}
	assert.Equal(t, 4, rep.Failed)
	assert.Zero(t, ev.count(dispatch.HostDown))

	_, err = dispatch.New(mt, hosts, &dispatch.Options{TimeoutFallback: -time.Second})
	require.ErrorIs(t, err, dispatch.ErrInvalid)
	_, err = dispatch.New(mt, hosts, &dispatch.Options{TimeoutFloor: -time.Second})
	require.ErrorIs(t, err, dispatch.ErrInvalid)
}

// A host that hangs as a whole fails the probe that follows a timeout: it
// is marked down and its chunk is lost, not failed, and runs elsewhere.
func TestHungHostFailsItsProbe(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Host("h1").Hang(true)
	defer mt.Host("h1").Hang(false)
	in := lines(50)
	var ev events
	got, rep, err := run(t, mt, hosts, &dispatch.Options{Slots: 1, TimeoutFactor: 2, TimeoutFallback: 50 * time.Millisecond, TimeoutFloor: 20 * time.Second, ProbeTimeout: 20 * time.Millisecond, ProbeInterval: time.Hour},
		&dispatch.Job{Args: upper}, split.Even(bytes.NewReader(in), int64(len(in)), 5, nil), &dispatch.RunOptions{Events: ev.add})
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 1, ev.hosts(dispatch.HostDown)["h1"], "one line per state change")
	assert.Equal(t, 1, rep.Hosts[0].Timeouts)
	assert.Equal(t, 1, rep.Hosts[0].Lost)
	assert.Zero(t, rep.Hosts[0].Failures)
	for _, e := range ev.all {
		if e.Kind == dispatch.ChunkLost {
			assert.ErrorIs(t, e.Err, dispatch.ErrAttemptTimeout)
			assert.ErrorIs(t, e.Err, transport.ErrLost)
			assert.Contains(t, e.Err.Error(), "then the host's probe failed: no answer within 20ms")
		}
	}
}

// pingRefusing wraps a transport so that Ping (and, when run is set, Run)
// on host "h1" fails with an error that is neither lost nor an exit status,
// as failed authentication is.
type pingRefusing struct {
	*memtransport.Transport
	run   bool
	pings atomic.Int32
}

var errAuth = errors.New("ssh: unable to authenticate")

func (p *pingRefusing) Ping(ctx context.Context, host string) error {
	if host == "h1" {
		p.pings.Add(1)
		return &transport.OpError{Op: "dial", Host: host, Err: errAuth}
	}
	return p.Transport.Ping(ctx, host)
}

func (p *pingRefusing) Run(ctx context.Context, host string, cmd *transport.Command) error {
	if host == "h1" && p.run {
		return &transport.OpError{Op: "dial", Host: host, Err: errAuth}
	}
	return p.Transport.Run(ctx, host, cmd)
}

// One policy for a host that can never work: wherever its refusal shows
// (a run, the probe of a down host, the probe after a timeout, the setup),
// the run stops with that host's error, named once.
func TestRefusedHostStopsRunEverywhere(t *testing.T) {
	cases := []struct {
		name  string
		setup func(mt *memtransport.Transport) (transport.Transport, *dispatch.Options, *dispatch.Job)
		is    error
	}{
		{"run", func(mt *memtransport.Transport) (transport.Transport, *dispatch.Options, *dispatch.Job) {
			return &pingRefusing{Transport: mt, run: true}, nil, &dispatch.Job{Args: upper}
		}, errAuth},
		{"probe of a down host", func(mt *memtransport.Transport) (transport.Transport, *dispatch.Options, *dispatch.Job) {
			mt.Host("h1").FailNext(1, nil)
			// Slow enough that the run lasts until h1 is probed.
			mt.Handle("slow", func(ctx context.Context, p *memtransport.Process) int {
				time.Sleep(5 * time.Millisecond)
				io.Copy(p.Stdout, p.Stdin)
				return 0
			})
			return &pingRefusing{Transport: mt}, &dispatch.Options{ProbeInterval: time.Millisecond},
				&dispatch.Job{Args: []string{"slow"}}
		}, errAuth},
		{"probe after a timeout", func(mt *memtransport.Transport) (transport.Transport, *dispatch.Options, *dispatch.Job) {
			mt.Host("h1").Handle("work", func(ctx context.Context, p *memtransport.Process) int { <-ctx.Done(); return 1 })
			mt.Handle("work", failOn("never"))
			return &pingRefusing{Transport: mt}, &dispatch.Options{Timeout: 300 * time.Millisecond},
				&dispatch.Job{Args: []string{"work"}}
		}, errAuth},
		{"unknown host in setup", func(mt *memtransport.Transport) (transport.Transport, *dispatch.Options, *dispatch.Job) {
			return mt, nil, &dispatch.Job{Args: upper, Setup: []transport.File{{Path: "w.sh", Data: []byte("x")}}}
		}, transport.ErrUnknownHost},
		{"unknown host in run", func(mt *memtransport.Transport) (transport.Transport, *dispatch.Options, *dispatch.Job) {
			return mt, nil, &dispatch.Job{Args: upper}
		}, transport.ErrUnknownHost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mt := memtransport.New(nil)
			t.Cleanup(func() { mt.Close() })
			hosts := []string{"h1", "h2", "h3"}
			unknown := errors.Is(tc.is, transport.ErrUnknownHost)
			for _, h := range hosts {
				if h != "h1" || !unknown {
					mt.AddHost(h)
				}
			}
			tr, opts, job := tc.setup(mt)
			in := lines(500)
			dir := t.TempDir()
			g, err := gather.File(filepath.Join(dir, "out"), nil)
			require.NoError(t, err)
			d, err := dispatch.New(tr, hosts, opts)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err = d.Run(ctx, job, split.Even(bytes.NewReader(in), int64(len(in)), 30, nil), g, nil)
			require.ErrorIs(t, err, tc.is)
			assert.False(t, transport.IsLost(err))
			msg := err.Error()
			t.Log(msg)
			if pr, ok := tr.(*pingRefusing); ok && !pr.run {
				assert.Positive(t, pr.pings.Load(), "the refusal came from the probe")
			}
			assert.Equal(t, 1, strings.Count(msg, `"h1"`), "host named once: %s", msg)
			assert.NotContains(t, msg, "setup: setup:")
			entries, _ := os.ReadDir(dir)
			assert.Empty(t, entries, "no output file")
		})
	}
}

// Golden messages: each layer adds its context once, and a failure names
// the command as the user wrote it (Job.Name), not the generated wrapper.
func TestErrorMessagesSayEachThingOnce(t *testing.T) {
	exit := &transport.ExitError{Host: "n1", Command: "w", Code: 3, Stderr: []byte("boom\n")}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&transport.OpError{Op: "run", Host: "n1", Err: exit}, `host "n1": command "w" exited with status 3; stderr: boom`},
		{&transport.OpError{Op: "install", Host: "n1", Err: &transport.OpError{Op: "run", Host: "n1", Err: transport.ErrUnknownHost}},
			`install on host "n1": run: unknown host`},
		{&transport.OpError{Op: "install", Host: "n1", Err: fmt.Errorf("file 0: %w", &transport.OpError{Op: "put", Host: "n1", Path: "a", Err: os.ErrPermission})},
			`install: file 0: put on host "n1" "a": permission denied`},
		{&transport.OpError{Op: "run", Host: "n1", Err: &transport.OpError{Op: "run", Host: "n2", Err: io.EOF}},
			`run on host "n1": run on host "n2": EOF`},
		{&dispatch.ChunkError{Chunk: 1, Host: "n1", Err: &transport.OpError{Op: "run", Host: "n1", Err: exit}},
			`chunk 1: host "n1": command "w" exited with status 3; stderr: boom`},
		{&dispatch.LostError{Chunk: 4, Command: "w", Errs: []error{
			&transport.OpError{Op: "run", Host: "n1", Err: transport.Lost(io.EOF)},
			&transport.OpError{Op: "run", Host: "n2", Err: transport.Lost(io.EOF)},
			&transport.OpError{Op: "run", Host: "n1", Err: transport.Lost(io.EOF)},
		}}, "chunk 4 (command \"w\") lost 3 times, giving up:\n\trun on host \"n1\": host lost: EOF (2 times)\n\trun on host \"n2\": host lost: EOF"},
		{&dispatch.HostsDownError{Hosts: []string{"n1", "n2"}, Errs: map[string]error{
			"n1": &transport.OpError{Op: "ping", Host: "n1", Err: transport.Lost(io.EOF)},
			"n2": io.EOF,
		}}, "dispatch: every host is down:\n\tping on host \"n1\": host lost: EOF\n\tn2: EOF"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
	}

	// Through a real transport: the wrapper script's failure reads as the
	// user's command, on its host, once.
	hosts := []string{"n1"}
	lt, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: hosts})
	require.NoError(t, err)
	defer lt.Close()
	line := "echo boom >&2; exit 3"
	job := &dispatch.Job{
		Args: []string{"./worker.sh"}, Dir: "processing",
		Setup: []transport.File{{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n" + line + "\n")}},
		Name:  line,
	}
	in := []byte("x\n")
	_, _, err = run(t, lt, hosts, nil, job, split.Even(bytes.NewReader(in), int64(len(in)), 1, nil))
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 3, ee.Code)
	assert.Equal(t, `chunk 0: host "n1": command "echo boom >&2; exit 3" exited with status 3; stderr: boom`, err.Error())
}

func TestLostErrorNamesCommand(t *testing.T) {
	mt, hosts := cluster(t, 2)
	var revived sync.WaitGroup
	defer revived.Wait()
	mt.Handle("crash", func(ctx context.Context, p *memtransport.Process) int {
		// Kills every host it touches; the host is back at once.
		h := p.Control()
		revived.Add(1)
		h.Kill()
		time.AfterFunc(time.Millisecond, func() { h.Revive(); revived.Done() })
		<-ctx.Done()
		return 0
	})
	in := []byte("poison\n")
	_, _, err := run(t, mt, hosts, &dispatch.Options{MaxLost: 1, ProbeInterval: 50 * time.Millisecond},
		&dispatch.Job{Args: []string{"crash"}, Name: "crash it"}, split.Even(bytes.NewReader(in), int64(len(in)), 1, nil))
	var le *dispatch.LostError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "crash it", le.Command)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, `chunk 0 (command "crash it") lost 2 times, giving up:`), msg)
	for _, h := range hosts {
		assert.Equal(t, 1, strings.Count(msg, fmt.Sprintf("%q", h)), "each host's error once: %s", msg)
	}
}

// Resuming with a changed worker says what changed.
func TestJournalMismatchSaysWhatDiffers(t *testing.T) {
	mt, hosts := cluster(t, 1)
	mt.Handle("./worker.sh", func(ctx context.Context, p *memtransport.Process) int {
		data, _ := io.ReadAll(p.Stdin)
		p.Stdout.Write(data)
		return 0
	})
	jdir := filepath.Join(t.TempDir(), "journal")
	jobFor := func(line string, mode os.FileMode, dir string) *dispatch.Job {
		return &dispatch.Job{
			Args: []string{"./worker.sh"}, Dir: dir,
			Setup: []transport.File{{Path: "worker.sh", Mode: mode, Data: []byte("#!/bin/sh\n" + line + "\n")}},
			Name:  line,
		}
	}
	in := lines(10)
	_, _, err := run(t, mt, hosts, nil, jobFor("cat", 0o755, "p"), split.Even(bytes.NewReader(in), int64(len(in)), 2, nil), &dispatch.RunOptions{Journal: jdir})
	require.NoError(t, err)
	for _, tc := range []struct {
		job  *dispatch.Job
		want string
	}{
		{jobFor("tac", 0o755, "p"), `it was written for another job: setup file worker.sh content differs (sha256 `},
		{jobFor("cat", 0o700, "p"), `setup file worker.sh mode 755, now 700`},
		{jobFor("cat", 0o755, "q"), `directory "p", now "q"`},
	} {
		_, _, err := run(t, mt, hosts, nil, tc.job, split.Even(bytes.NewReader(in), int64(len(in)), 2, nil), &dispatch.RunOptions{Journal: jdir, Resume: true})
		require.ErrorIs(t, err, dispatch.ErrJournalMismatch)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), `command=`)
	}
	_, _, err = run(t, mt, hosts, nil, jobFor("tac", 0o755, "p"), split.Even(bytes.NewReader(in), int64(len(in)), 2, nil), &dispatch.RunOptions{Journal: jdir, Resume: true})
	assert.Contains(t, err.Error(), `(the journal's job was "cat", this one is "tac")`)
}
