package dispatch_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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

// countingWorker uppercases its input and counts, per first line, how
// often it ran.
type countingWorker struct {
	mu   sync.Mutex
	runs map[string]int
	fail string // input containing this fails with status 9
}

func (w *countingWorker) fn(ctx context.Context, p *memtransport.Process) int {
	data, _ := io.ReadAll(p.Stdin)
	first, _, _ := bytes.Cut(data, []byte("\n"))
	w.mu.Lock()
	w.runs[string(first)]++
	fail := w.fail
	w.mu.Unlock()
	if fail != "" && bytes.Contains(data, []byte(fail)) {
		return p.Fail(9, "cannot do %q", fail)
	}
	p.Stdout.Write(asciiUpper(data))
	return 0
}

// reset forgets the counts. Attempts cancelled by an earlier run may still
// be finishing, so every access holds the lock.
func (w *countingWorker) reset() {
	w.mu.Lock()
	w.runs = map[string]int{}
	w.mu.Unlock()
}

func (w *countingWorker) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]int, len(w.runs))
	for k, v := range w.runs {
		m[k] = v
	}
	return m
}

func TestJournalResumeSkipsCommittedChunks(t *testing.T) {
	mt, hosts := cluster(t, 2)
	w := &countingWorker{runs: map[string]int{}, fail: "line 00055"}
	mt.Handle("work", w.fn)
	in := lines(100)
	jdir := filepath.Join(t.TempDir(), "journal")
	job := &dispatch.Job{Args: []string{"work"}}
	opts := &dispatch.Options{Slots: 1}
	jopts := &dispatch.RunOptions{Journal: jdir}

	// First run: chunk 5 fails, the run stops, some chunks are committed.
	_, _, err := run(t, mt, hosts, opts, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), jopts)
	require.Error(t, err)
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)

	// Without Resume the journal is refused rather than overwritten.
	_, _, err = run(t, mt, hosts, opts, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), jopts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resume")
	assert.ErrorIs(t, err, dispatch.ErrJournalExists)

	// Resume with the worker fixed (its code, not its command line):
	// committed chunks are not run again and the output is complete.
	w.mu.Lock()
	w.fail = ""
	w.mu.Unlock()
	w.reset()
	var ev events
	resume := &dispatch.RunOptions{Journal: jdir, Resume: true, Events: ev.add}
	got, rep, err := run(t, mt, hosts, opts, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), resume)
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, rep.Resumed, ev.count(dispatch.ChunkResumed))
	assert.Positive(t, rep.Resumed)
	assert.Equal(t, 10, rep.Done)
	resumed := map[int]bool{}
	for _, e := range ev.all {
		if e.Kind == dispatch.ChunkResumed {
			resumed[e.Chunk] = true
		}
	}
	runs := w.snapshot()
	for i := 0; i < 10; i++ {
		first := fmt.Sprintf("line %05d of the input", i*10)
		if resumed[i] {
			assert.Zero(t, runs[first], "chunk %d was in the journal but ran again", i)
		} else {
			assert.Equal(t, 1, runs[first], "chunk %d", i)
		}
	}

	// A resume of a finished run replays everything and runs nothing.
	w.reset()
	got, rep, err = run(t, mt, hosts, opts, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), resume)
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got))
	assert.Equal(t, 10, rep.Resumed)
	assert.Empty(t, w.snapshot())
}

func TestJournalRefusesAnotherJobOrInput(t *testing.T) {
	mt, hosts := cluster(t, 2)
	w := &countingWorker{runs: map[string]int{}}
	mt.Handle("work", w.fn)
	in := lines(100)
	jdir := filepath.Join(t.TempDir(), "journal")
	job := &dispatch.Job{Args: []string{"work"}}
	_, _, err := run(t, mt, hosts, nil, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), &dispatch.RunOptions{Journal: jdir})
	require.NoError(t, err)

	resume := &dispatch.RunOptions{Journal: jdir, Resume: true}
	other := &dispatch.Job{Args: []string{"work", "--other"}}
	_, _, err = run(t, mt, hosts, nil, other, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), resume)
	require.ErrorIs(t, err, dispatch.ErrJournalMismatch)
	assert.Contains(t, err.Error(), "another job")
	assert.Contains(t, err.Error(), `arguments ["work"], now ["work" "--other"]`)

	changed := bytes.Replace(in, []byte("line 00042"), []byte("LINE 00042"), 1)
	_, _, err = run(t, mt, hosts, nil, job, split.Even(bytes.NewReader(changed), int64(len(changed)), 10, nil), resume)
	require.ErrorIs(t, err, dispatch.ErrJournalMismatch)
	assert.Contains(t, err.Error(), "chunk 4")

	// A kept result that was tampered with is refused too.
	res, err := filepath.Glob(filepath.Join(jdir, "results", "*.out"))
	require.NoError(t, err)
	require.NotEmpty(t, res)
	require.NoError(t, os.WriteFile(res[0], []byte("tampered\n"), 0o644))
	_, _, err = run(t, mt, hosts, nil, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), resume)
	require.ErrorIs(t, err, dispatch.ErrJournalMismatch)

	_, _, err = run(t, mt, hosts, nil, job, split.Even(bytes.NewReader(in), int64(len(in)), 10, nil), &dispatch.RunOptions{Resume: true})
	require.ErrorIs(t, err, dispatch.ErrInvalid)
}

// The coordinator test runs a dispatch in a child process (this test binary
// run again), kills it with SIGKILL half way, and resumes in this process.
const childEnv = "DPROC_DISPATCH_TEST_CHILD"

// slowUpper is the worker of the coordinator test: it records the chunk's
// first line in runs.log in its host's home, then uppercases its input
// slowly enough for the parent to kill the run half way.
const slowUpper = `tmp=$(mktemp) && cat > "$tmp" && head -n 1 "$tmp" >> "$HOME/runs.log" && sleep 0.05 && tr a-z A-Z < "$tmp"; rc=$?; rm -f "$tmp"; exit $rc`

func coordinatorRun(ctx context.Context, root, input, journal, out string, resume bool, events func(dispatch.Event)) (*dispatch.Report, error) {
	hosts := []string{"n1", "n2", "n3"}
	lt, err := localtransport.New(root, &localtransport.Options{Hosts: hosts})
	if err != nil {
		return nil, err
	}
	defer lt.Close()
	f, err := os.Open(input)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	g, err := gather.File(out, nil)
	if err != nil {
		return nil, err
	}
	d, err := dispatch.New(lt, hosts, &dispatch.Options{Slots: 1})
	if err != nil {
		g.Close(0, err)
		return nil, err
	}
	return d.Run(ctx, &dispatch.Job{Shell: slowUpper}, split.Blocks(f, st.Size(), 4096, nil), g,
		&dispatch.RunOptions{Journal: journal, Resume: resume, Events: events})
}

// coordinatorChild is the child's whole life: run, then exit.
func coordinatorChild() {
	p := strings.Split(os.Getenv(childEnv), "|")
	_, err := coordinatorRun(context.Background(), p[0], p[1], p[2], p[3], false, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestCoordinatorKilledThenResumed(t *testing.T) {
	dir := t.TempDir()
	root, input, journal, out := filepath.Join(dir, "nodes"), filepath.Join(dir, "in.txt"), filepath.Join(dir, "journal"), filepath.Join(dir, "out.txt")
	in := lines(6000) // about 40 chunks of 4 KiB
	require.NoError(t, os.WriteFile(input, in, 0o644))

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{root, input, journal, out}, "|"))
	var childErr bytes.Buffer
	cmd.Stderr = &childErr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Kill the coordinator once a third of the chunks are journaled.
	logPath := filepath.Join(journal, "journal.log")
	deadline := time.Now().Add(60 * time.Second)
	for journaled(t, logPath) < 12 {
		select {
		case err := <-done:
			t.Fatalf("child ended before it was killed: %v\n%s", err, childErr.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("child made no progress:\n%s", childErr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := <-done
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	_, statErr := os.Stat(out)
	require.ErrorIs(t, statErr, os.ErrNotExist, "a killed run leaves no output file")

	// Workers the child started may still be finishing as orphans, but
	// none of them works on a journaled chunk: those had finished.
	done1 := journaledChunks(t, logPath)
	before := runLog(t, root)

	var mu sync.Mutex
	var ranAfter []int
	rep, err := coordinatorRun(context.Background(), root, input, journal, out, true, func(e dispatch.Event) {
		if e.Kind == dispatch.ChunkStarted {
			mu.Lock()
			ranAfter = append(ranAfter, e.Chunk)
			mu.Unlock()
		}
	})
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(asciiUpper(in)), string(got), "byte-identical to an uninterrupted run")
	assert.GreaterOrEqual(t, rep.Resumed, len(done1))
	for _, c := range ranAfter {
		assert.False(t, done1[c], "chunk %d was journaled as done but ran again", c)
	}
	// The workers' own log agrees: no journaled chunk's first line was
	// processed again after the resume started.
	firstLines := map[int]string{}
	require.NoError(t, split.Blocks(bytes.NewReader(in), int64(len(in)), 4096, nil).Split(context.Background(), func(c split.Chunk) error {
		rc, err := c.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		line, err := bufio.NewReader(rc).ReadString('\n')
		firstLines[c.Index] = strings.TrimSuffix(line, "\n")
		return err
	}))
	after := runLog(t, root)
	for c := range done1 {
		assert.Equal(t, before[firstLines[c]], after[firstLines[c]], "journaled chunk %d ran again", c)
	}
	assert.Equal(t, rep.Chunks-rep.Resumed, len(ranAfter))
}

func journaled(t *testing.T, path string) int {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(data), "\nchunk ")
}

func journaledChunks(t *testing.T, path string) map[int]bool {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	m := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var i int
		if n, _ := fmt.Sscanf(sc.Text(), "chunk %d ", &i); n == 1 {
			m[i] = true
		}
	}
	return m
}

func runLog(t *testing.T, root string) map[string]int {
	m := map[string]int{}
	for _, h := range []string{"n1", "n2", "n3"} {
		data, err := os.ReadFile(filepath.Join(root, h, "runs.log"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			m[l]++
		}
	}
	return m
}
