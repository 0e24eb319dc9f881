package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "final_result.txt")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-out", out, "-metrics", filepath.Join(dir, "metrics.csv")}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Len(t, got, 12162499)
	assert.True(t, bytes.HasPrefix(got, []byte("0000000 ")))
	assert.Equal(t, strings.ToUpper(string(got)), string(got))
	assert.Equal(t, 200000, bytes.Count(got, []byte("\n")))
	for _, n := range []string{"node1", "node2", "node3"} {
		assert.Contains(t, stdout.String(), n)
	}
	// An undisturbed run launches no speculative copy, and says so
	// (bench/run.sh reads this line).
	assert.Contains(t, stdout.String(), "speculative launches: 0")
	csv, err := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(csv), "timestamp,node,cpu,memory,io"))
}

func TestInputAndWorker(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	data := "b line\r\nA line\nno newline at the end"
	require.NoError(t, os.WriteFile(in, []byte(data), 0o644))
	out := filepath.Join(dir, "out.txt")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-input", in, "-out", out, "-worker", "rev", "-block", "4", "-metrics", "",
		"-nodes", "a,b", "-local", "-root", filepath.Join(dir, "nodes")}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "\renil b\nenil A\ndne eht ta enilwen on", string(got), "no trailing newline added")
	// The worker's layout: worker.sh in ~/processing on every node.
	for _, n := range []string{"a", "b"} {
		st, err := os.Stat(filepath.Join(dir, "nodes", n, "processing", "worker.sh"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	}
}

func TestFailingWorkerLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "final_result.txt")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-out", out, "-metrics", "", "-worker", "echo 'disk on fire' >&2; exit 4"}, &stdout, &stderr)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"chunk", "node", `command "echo 'disk on fire' >&2; exit 4"`, "status 4", "disk on fire"} {
		assert.Contains(t, msg, want)
	}
	_, statErr := os.Stat(out)
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-slots", "0"},
		{"-worker", " "},
		{"-resume"},
		{"-block", "x"},
		{"-timeout", "soon"},
		{"-timeout", "-5%"},
		{"-halt", "later"},
		{"-halt", "150%"},
		{"-nodes", ","},
		{"extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append(args, "-out", filepath.Join(t.TempDir(), "x")), &stdout, &stderr)
			require.Error(t, err)
		})
	}
}

func TestParseFlagsPolicies(t *testing.T) {
	c, err := parseFlags([]string{"-timeout", "200%", "-halt", "20%", "-retries", "2"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 2.0, c.timeoutFactor)
	assert.True(t, c.halt.KeepGoing)
	assert.InDelta(t, 0.2, c.halt.Share, 1e-9)
	assert.Equal(t, 2, c.retries)
	c, err = parseFlags([]string{"-timeout", "1m", "-halt", "never"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "1m0s", c.timeout.String())
	assert.True(t, c.halt.KeepGoing)
	assert.Zero(t, c.halt.Share)
}
