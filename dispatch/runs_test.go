package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport/memtransport"
)

// noisy uppercases its input and writes "from NAME" to standard error,
// NAME being its argument.
func noisy(ctx context.Context, p *memtransport.Process) int {
	data, _ := io.ReadAll(p.Stdin)
	fmt.Fprintf(p.Stderr, "from %s\n", p.Args[1])
	p.Stdout.Write(asciiUpper(data))
	return 0
}

// Two Runs at once on one Dispatcher, each with its own journal, events
// and standard error: both succeed, each journal records its own chunks,
// and each run's events and stderr are its own.
func TestConcurrentRunsKeepTheirOwnSettings(t *testing.T) {
	mt, hosts := cluster(t, 3)
	mt.Handle("noisy", noisy)
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	dir := t.TempDir()

	type result struct {
		out    bytes.Buffer
		stderr bytes.Buffer
		ev     events
		rep    *dispatch.Report
		err    error
	}
	names := []string{"A", "B"}
	inputs := [][]byte{lines(300), bytes.Repeat([]byte("another input line\n"), 200)}
	res := make([]*result, len(names))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, name := range names {
		res[i] = &result{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := res[i]
			in := inputs[i]
			<-start
			r.rep, r.err = d.Run(context.Background(), &dispatch.Job{Args: []string{"noisy", name}},
				split.Even(bytes.NewReader(in), int64(len(in)), 12, nil), gather.Ordered(&r.out, nil),
				&dispatch.RunOptions{
					Journal: filepath.Join(dir, "journal-"+name),
					Events:  r.ev.add,
					Stderr:  &r.stderr,
				})
		}()
	}
	close(start)
	wg.Wait()

	require.NotEqual(t, res[0].rep.Run, res[1].rep.Run, "each run has its own id")
	for i, name := range names {
		r := res[i]
		require.NoError(t, r.err, "run %s", name)
		assert.Equal(t, string(asciiUpper(inputs[i])), r.out.String(), "run %s", name)
		assert.Len(t, r.rep.Run, 12)
		require.NotEmpty(t, r.ev.all)
		for _, e := range r.ev.all {
			require.Equal(t, r.rep.Run, e.Run, "run %s got an event of another run: %v", name, e)
		}
		assert.Equal(t, 12, r.ev.count(dispatch.ChunkDone))
		assert.Equal(t, 12, journaled(t, filepath.Join(dir, "journal-"+name, "journal.log")), "run %s", name)
		other := names[1-i]
		assert.Contains(t, r.stderr.String(), "from "+name)
		assert.NotContains(t, r.stderr.String(), "from "+other, "run %s got the stderr of run %s", name, other)
	}
}

func TestRunFile(t *testing.T) {
	mt, hosts := cluster(t, 3)
	d, err := dispatch.New(mt, hosts, nil) // 2 slots per host
	require.NoError(t, err)
	require.Equal(t, 6, d.Slots())
	dir := t.TempDir()
	in := lines(40000) // about 1 MiB: more than 64 KiB per slot
	inPath, outPath := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	require.NoError(t, os.WriteFile(inPath, in, 0o644))

	rep, err := d.RunFile(context.Background(), &dispatch.Job{Args: upper}, inPath, outPath, nil)
	require.NoError(t, err)
	got, err := os.ReadFile(outPath)
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	// Blocks of BlockSizeFor(size, slots): about one chunk per slot.
	assert.LessOrEqual(t, rep.Chunks, d.Slots())
	assert.GreaterOrEqual(t, rep.Chunks, d.Slots()-1)
	assert.Equal(t, rep.Chunks, rep.Done)
	assert.Equal(t, []string{"in.txt", "out.txt"}, dirNames(t, dir), "no temp file left")
}

// A FIFO is streamed: RunFile works on inputs that are not regular files.
func TestRunFileStreamsAPipe(t *testing.T) {
	mt, hosts := cluster(t, 2)
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	dir := t.TempDir()
	fifo, outPath := filepath.Join(dir, "in.fifo"), filepath.Join(dir, "out.txt")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	in := lines(500)
	wrote := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.Write(in)
			f.Close()
		}
		wrote <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := d.RunFile(ctx, &dispatch.Job{Args: upper}, fifo, outPath, nil)
	require.NoError(t, err)
	require.NoError(t, <-wrote)
	got, err := os.ReadFile(outPath)
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 1, rep.Chunks, "a small stream is one block of the stream default")
}

// On every failure RunFile leaves the output as it was and no temp file
// behind, and says what failed.
func TestRunFileFailures(t *testing.T) {
	mt, hosts := cluster(t, 2)
	mt.Handle("work", failOn("line 00007"))
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		in, out string // relative to the test's directory
		job     *dispatch.Job
		is      error
		msg     string
	}{
		{"missing input", "nope.txt", "out.txt", &dispatch.Job{Args: upper}, fs.ErrNotExist, "input"},
		{"output is a directory", "in.txt", "sub", &dispatch.Job{Args: upper}, dispatch.ErrInvalid, "output"},
		{"output directory missing", "in.txt", "none/out.txt", &dispatch.Job{Args: upper}, fs.ErrNotExist, "output"},
		{"bad job", "in.txt", "out.txt", &dispatch.Job{}, dispatch.ErrInvalid, "job command"},
		{"worker fails", "in.txt", "out.txt", &dispatch.Job{Args: []string{"work"}}, nil, `chunk 0: host "h`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "in.txt"), lines(20), 0o644))
			require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
			before := dirNames(t, dir)
			_, err := d.RunFile(context.Background(), tc.job, filepath.Join(dir, tc.in), filepath.Join(dir, tc.out), nil)
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.msg)
			assert.Equal(t, before, dirNames(t, dir), "the directory is as it was: no output, no temp file")
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// A journal is one run's at a time: a second run on it, while the first
// goes on, is refused, with or without Resume; once the first is over the
// journal can be resumed.
func TestJournalIsLockedWhileARunUsesIt(t *testing.T) {
	mt, hosts := cluster(t, 1)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	mt.Handle("wait", func(ctx context.Context, p *memtransport.Process) int {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
			return 1
		}
		data, _ := io.ReadAll(p.Stdin)
		p.Stdout.Write(data)
		return 0
	})
	d, err := dispatch.New(mt, hosts, nil)
	require.NoError(t, err)
	jdir := filepath.Join(t.TempDir(), "journal")
	in := lines(50)
	// Bounded, so that a missing lock fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runOnce := func(job *dispatch.Job, resume bool) (*dispatch.Report, error) {
		return d.Run(ctx, job, split.Even(bytes.NewReader(in), int64(len(in)), 5, nil),
			gather.Ordered(io.Discard, nil), &dispatch.RunOptions{Journal: jdir, Resume: resume})
	}
	first := make(chan error, 1)
	go func() {
		_, err := runOnce(&dispatch.Job{Args: []string{"wait"}}, false)
		first <- err
	}()
	<-started
	for _, resume := range []bool{false, true} {
		// A run let in would wait for release until ctx ends.
		_, err := runOnce(&dispatch.Job{Args: []string{"wait"}}, resume)
		require.ErrorIs(t, err, dispatch.ErrJournalExists, "resume=%v", resume)
		assert.Contains(t, err.Error(), "another run is using it")
	}
	close(release)
	require.NoError(t, <-first)
	rep, err := runOnce(&dispatch.Job{Args: []string{"wait"}}, true)
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Resumed, "the journal of the finished run is resumed")
}
