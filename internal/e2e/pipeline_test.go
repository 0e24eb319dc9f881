package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/internal/sshtest"
	"dproc/split"
	"dproc/transport"
)

// TestPipelineOnSSHNodes runs the whole pipeline on three sshd nodes, in
// stream and in files mode, and compares it with a reference computed in Go
// and with the same pipeline on local nodes.
func TestPipelineOnSSHNodes(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	data := textData(3<<20 + 12345)
	want := asciiUpper(data)
	require.Contains(t, string(data), "\r\n")
	require.Contains(t, string(data), "\x00")
	require.NotEqual(t, byte('\n'), data[len(data)-1])

	tests := []struct {
		name string
		job  dispatch.Job
	}{
		{"stream", dispatch.Job{Shell: upperShell}},
		{"files", dispatch.Job{Mode: dispatch.Files, Shell: upperShell + " <{in} >{out}"}},
		// Without {out}, the worker's standard output is the result.
		{"files-stdout", dispatch.Job{Mode: dispatch.Files, Shell: upperShell + " <{in}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := tt.job
			ctx := testContext(t, 60*time.Second)
			p := &pipeline{tr: newSSH(t, c, 0), hosts: c.Hosts(), job: job, data: data, block: 200 << 10}
			res := p.run(t, ctx, nil)
			requireComplete(t, res, want)
			for _, h := range res.rep.Hosts {
				assert.Positive(t, h.Done, "host %s ran no chunk", h.Host)
			}

			local := &pipeline{tr: newLocal(t, c.Hosts()), hosts: c.Hosts(), job: job, data: data, block: 200 << 10}
			lres := local.run(t, ctx, nil)
			requireComplete(t, lres, want)
			assert.True(t, bytes.Equal(lres.out, res.out), "ssh and local outputs differ")
			t.Logf("%s: %d bytes in %d chunks: ssh %s, local %s", tt.name, len(data), res.rep.Chunks,
				res.elapsed.Round(time.Millisecond), lres.elapsed.Round(time.Millisecond))
		})
	}
}

// TestWorkerFailureOverSSH checks that a worker exiting non-zero on one chunk
// fails the run with an error naming the chunk, the host, the command, the
// exit status and the tail of standard error.
func TestWorkerFailureOverSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	var b strings.Builder
	for i := 0; i < 4000; i++ {
		if i == 2500 {
			b.WriteString("this line holds the poison\n")
			continue
		}
		b.WriteString("plain line of text number ")
		b.WriteString(strings.Repeat("x", i%37))
		b.WriteString("\n")
	}
	data := []byte(b.String())
	const block = 8 << 10
	bad := poisonedChunk(t, data, block, "poison")
	require.Positive(t, bad, "the poison should not be in the first chunk")

	const script = `f=$(mktemp) || exit 9
cat >"$f"
if grep -q poison "$f"; then
	rm -f "$f"
	echo "first line of noise" >&2
	echo "worker: found poison, giving up" >&2
	exit 3
fi
tr a-z A-Z <"$f"
rm -f "$f"`
	dir := t.TempDir()
	p := &pipeline{
		tr: newSSH(t, c, 0), hosts: c.Hosts(), data: data, block: block, file: filepath.Join(dir, "result"),
		job: dispatch.Job{Shell: script},
	}
	res := p.run(t, testContext(t, 60*time.Second), nil)
	require.Error(t, res.err)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "a failed run leaves no result file, nor a temporary one")

	var ce *dispatch.ChunkError
	require.ErrorAs(t, res.err, &ce)
	assert.Equal(t, bad, ce.Chunk)
	assert.Contains(t, c.Hosts(), ce.Host)
	var ee *transport.ExitError
	require.ErrorAs(t, res.err, &ee)
	assert.Equal(t, ce.Host, ee.Host)
	assert.Equal(t, 3, ee.Code)
	assert.Contains(t, ee.Command, "grep -q poison")
	assert.Contains(t, string(ee.Stderr), "worker: found poison, giving up")
	assert.True(t, errors.Is(res.err, transport.ErrFailed))
	assert.False(t, transport.IsLost(res.err))

	msg := res.err.Error()
	for _, want := range []string{
		"chunk " + strconv.Itoa(bad), `"` + ce.Host + `"`, "grep -q poison", "exited with status 3",
		"worker: found poison, giving up",
	} {
		assert.Contains(t, msg, want)
	}
	t.Logf("error: %v", res.err)
}

// poisonedChunk returns the index of the chunk of data (split in blocks of
// block bytes, as the dispatcher splits it) that holds word.
func poisonedChunk(t *testing.T, data []byte, block int64, word string) int {
	t.Helper()
	found := -1
	s := split.Blocks(bytes.NewReader(data), int64(len(data)), block, nil)
	err := s.Split(context.Background(), func(ch split.Chunk) error {
		defer ch.Release()
		rc, err := ch.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(word)) {
			found = ch.Index
		}
		return nil
	})
	require.NoError(t, err)
	return found
}
