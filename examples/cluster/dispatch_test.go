package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
)

// testInput writes n numbered lowercase lines to dir/in.txt.
func testInput(t *testing.T, dir string, n int) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%07d some lowercase text to process\n", i)
	}
	p := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p, b.Bytes()
}

// localArgs are the flags of a run on two local nodes under dir.
func localArgs(dir string, extra ...string) []string {
	return append([]string{"-metrics", "", "-nodes", "a,b", "-local", "-root", filepath.Join(dir, "nodes")}, extra...)
}

func TestUnreadInputWarnsInOneLine(t *testing.T) {
	dir := t.TempDir()
	in, _ := testInput(t, dir, 40000) // 1.5 MB: chunks of 256 KiB, more than a pipe holds
	out := filepath.Join(dir, "out.txt")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-block", "256K", "-worker", "head -n 1"), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, 6, bytes.Count(got, []byte("\n")), "one line per chunk")
	warn := regexp.MustCompile(`(?m)^cluster: warning: the worker left input unread in 6 chunks \(0, 1, 2, 3, 4, 5\): \d+ bytes`)
	assert.Regexp(t, warn, stderr.String())
	assert.Equal(t, 1, strings.Count(stderr.String(), "warning"), "one line, not one per chunk:\n%s", stderr.String())

	// A worker that reads everything gets no warning.
	stderr.Reset()
	require.NoError(t, run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-block", "256K"), &stdout, &stderr))
	assert.NotContains(t, stderr.String(), "warning")

	// -require-full-read makes it an error, and no result appears.
	require.NoError(t, os.Remove(out))
	stderr.Reset()
	err = run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-block", "256K", "-worker", "head -n 1", "-require-full-read"), &stdout, &stderr)
	require.ErrorIs(t, err, dispatch.ErrUnread)
	assert.Contains(t, err.Error(), `command "head -n 1" exited 0 but read only`)
	_, statErr := os.Stat(out)
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}

// -halt never with a failing chunk leaves no result but keeps the good
// chunks in the default journal; -resume-failed then runs only the failed
// chunk and completes the result.
func TestHaltNeverThenResumeFailed(t *testing.T) {
	dir := t.TempDir()
	in, data := testInput(t, dir, 2000)
	out := filepath.Join(dir, "out.txt")
	script, runs := filepath.Join(dir, "w.sh"), filepath.Join(dir, "runs.log")
	// The worker's command line stays the same across runs; what it runs
	// is fixed in between, as a user fixes a broken script or node.
	broken := fmt.Sprintf("tmp=$(mktemp); cat > \"$tmp\"; echo run >> %q; if grep -q '^0000842 ' \"$tmp\"; then echo 'bad record 842' >&2; rm -f \"$tmp\"; exit 5; fi; tr a-z A-Z < \"$tmp\"; rm -f \"$tmp\"\n", runs)
	fixed := fmt.Sprintf("echo run >> %q; tr a-z A-Z\n", runs)
	require.NoError(t, os.WriteFile(script, []byte(broken), 0o644))
	args := localArgs(dir, "-input", in, "-out", out, "-block", "8K", "-halt", "never", "-worker", "sh "+script)

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	var fc *dispatch.FailedChunksError
	require.ErrorAs(t, err, &fc, stderr.String())
	require.Len(t, fc.Chunks, 1)
	bad := fc.Chunks[0].Chunk
	msg := err.Error()
	for _, want := range []string{fmt.Sprintf("chunk %d", bad), fmt.Sprintf("%q", "sh "+script), "status 5", "bad record 842"} {
		assert.Contains(t, msg, want)
	}
	assert.Equal(t, 1, strings.Count(msg, fmt.Sprintf("%q", fc.Chunks[0].Host)), "host named once: %s", msg)
	_, statErr := os.Stat(out)
	require.ErrorIs(t, statErr, os.ErrNotExist, "no result with a chunk missing")
	journal := out + ".journal"
	kept, err := filepath.Glob(filepath.Join(journal, "results", "*.out"))
	require.NoError(t, err)
	chunks := len(kept) + 1
	assert.Greater(t, chunks, 5)
	assert.Contains(t, stderr.String(), "cluster: the chunks that succeeded are kept in "+journal)
	assert.Contains(t, stderr.String(), "-halt never -worker 'sh "+script+"' -resume-failed")

	// The same command again does not silently start over.
	err = run(context.Background(), args, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-resume-failed")

	require.NoError(t, os.WriteFile(script, []byte(fixed), 0o644))
	require.NoError(t, os.Remove(runs))
	stderr.Reset()
	err = run(context.Background(), append(args, "-resume-failed"), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	log, err := os.ReadFile(runs)
	require.NoError(t, err)
	assert.Equal(t, "run\n", string(log), "only the failed chunk ran")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, strings.ToUpper(string(data)), string(got), "byte-identical to a run without failures")
	_, statErr = os.Stat(journal)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the default journal goes once the run is complete")
}

func TestResumeFailedFlag(t *testing.T) {
	c, err := parseFlags([]string{"-out", "r.txt", "-resume-failed"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.True(t, c.resume)
	assert.Equal(t, "r.txt.journal", c.journal)
	c, err = parseFlags([]string{"-out", "-", "-halt", "10%"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.False(t, c.resume)
	assert.Equal(t, "cluster.journal", c.journal)
	c, err = parseFlags([]string{"-journal", "j", "-halt", "never", "-timeout-fallback", "3s", "-require-full-read"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "j", c.journal)
	assert.False(t, c.autoJournal)
	assert.Equal(t, "3s", c.timeoutFallback.String())
	assert.True(t, c.fullRead)
	c, err = parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Empty(t, c.journal, "halt now keeps no journal by default")
	_, err = parseFlags([]string{"-timeout-fallback", "-1s"}, &bytes.Buffer{})
	require.Error(t, err)
}

// Every worker hangs: a relative timeout still ends the run, with an error
// naming the chunk, the node and the command.
func TestAllHungWithRelativeTimeoutEnds(t *testing.T) {
	dir := t.TempDir()
	in, _ := testInput(t, dir, 100)
	out := filepath.Join(dir, "out.txt")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-timeout", "200%", "-timeout-fallback", "200ms", "-worker", "sleep 60"), &stdout, &stderr)
	require.ErrorIs(t, err, dispatch.ErrAttemptTimeout)
	var ce *dispatch.ChunkError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, fmt.Sprintf(`chunk %d: run on host %q: command "sleep 60": attempt timed out after 200ms`, ce.Chunk, ce.Host), err.Error())
	assert.NotContains(t, stderr.String(), "host-down", "the nodes answer: they are not down")
}

// A slow attempt times out and is retried; the node answers its probe, so
// it is never reported down, and without -v nothing is printed per chunk.
func TestTimeoutDoesNotMarkNodeDown(t *testing.T) {
	dir := t.TempDir()
	in, data := testInput(t, dir, 3000)
	out := filepath.Join(dir, "out.txt")
	flag := filepath.Join(dir, "slow-once")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	// The first chunk to find the flag sleeps past the timeout once.
	worker := fmt.Sprintf("if rm %q 2>/dev/null; then sleep 30; fi; tr a-z A-Z", flag)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-block", "16K", "-timeout", "1s", "-retries", "1", "-worker", worker), &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, strings.ToUpper(string(data)), string(got))
	assert.Empty(t, stderr.String(), "no host down/up lines for a timeout")
	_, statErr := os.Stat(flag)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the slow attempt ran")
}

// Resuming with another worker says what differs, and prints no empty
// report first.
func TestResumeWithChangedWorker(t *testing.T) {
	dir := t.TempDir()
	in, _ := testInput(t, dir, 100)
	out, journal := filepath.Join(dir, "out.txt"), filepath.Join(dir, "j")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-journal", journal, "-worker", "exit 3"), &stdout, &stderr)
	var ce *dispatch.ChunkError
	require.ErrorAs(t, err, &ce)
	// The host once, and the command as given to -worker, not worker.sh.
	assert.Equal(t, fmt.Sprintf(`chunk %d: host %q: command "exit 3" exited with status 3`, ce.Chunk, ce.Host), err.Error())
	assert.Contains(t, stderr.String(), "-resume-failed", "how to rerun only the failed chunks")
	stdout.Reset()
	err = run(context.Background(), localArgs(dir, "-input", in, "-out", out, "-journal", journal, "-resume", "-worker", "tr a-z A-Z"), &stdout, &stderr)
	require.ErrorIs(t, err, dispatch.ErrJournalMismatch)
	assert.Contains(t, err.Error(), "setup file worker.sh content differs")
	assert.Contains(t, err.Error(), `(the journal's job was "exit 3", this one is "tr a-z A-Z")`)
	assert.NotContains(t, stdout.String(), "bytes in", "no empty report")
	assert.False(t, errors.Is(err, os.ErrNotExist))
}
