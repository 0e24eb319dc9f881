package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/split"
)

func TestMemoryLimit(t *testing.T) {
	// 3 hosts with 2 slots, a file input: the bench's configuration,
	// whose peak RSS (this plus the binary) must stay within 32 MiB.
	assert.Equal(t, int64(24<<20), memoryLimit(6, false))
	// A full channel window per session more.
	assert.Equal(t, int64(26<<20), memoryLimit(7, false))
	assert.Equal(t, memoryLimit(6, false)+94*memoryPerSession, memoryLimit(100, false))
	// A streamed input's chunks are held in the splitter's budget.
	assert.Equal(t, memoryLimit(6, false)+split.DefaultMemoryBudget, memoryLimit(6, true))
}

// restoreGC puts the test binary's collector settings back.
func restoreGC(t *testing.T) {
	limit := debug.SetMemoryLimit(-1)
	pct := debug.SetGCPercent(100)
	debug.SetGCPercent(pct)
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(pct)
	})
}

func TestSetMemoryLimit(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	setMemoryLimit(24 << 20)
	assert.Equal(t, int64(24<<20), debug.SetMemoryLimit(-1))
	assert.Equal(t, gcPercent, debug.SetGCPercent(gcPercent))
}

func TestSetMemoryLimitKeepsTheUsersGOGC(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	setMemoryLimit(24 << 20)
	assert.Equal(t, int64(24<<20), debug.SetMemoryLimit(-1))
	assert.Equal(t, 150, debug.SetGCPercent(150))
}

func TestSetMemoryLimitKeepsTheUsersGOMEMLIMIT(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	debug.SetMemoryLimit(1 << 30)
	debug.SetGCPercent(100)
	setMemoryLimit(24 << 20)
	assert.Equal(t, int64(1<<30), debug.SetMemoryLimit(-1))
	assert.Equal(t, 100, debug.SetGCPercent(100))
}

// TestRunTunesGC checks that a run hands tuneGC the limit for its hosts,
// slots and input kind.
func TestRunTunesGC(t *testing.T) {
	var got []int64
	tuneGC = func(limit int64) { got = append(got, limit) }
	t.Cleanup(func() { tuneGC = nil })
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("a\nb\nc\n"), 0o644))
	args := func(input, out string) []string {
		return []string{"-input", input, "-out", filepath.Join(dir, out), "-metrics", "", "-slots", "3",
			"-nodes", "a,b", "-local", "-root", filepath.Join(dir, "nodes")}
	}
	require.NoError(t, run(context.Background(), args(in, "file.txt"), io.Discard, io.Discard))
	require.NoError(t, runStdin(context.Background(), args("-", "stream.txt"), strings.NewReader("x\ny\n"), io.Discard, io.Discard))
	assert.Equal(t, []int64{memoryLimit(6, false), memoryLimit(6, true)}, got)
	b, err := os.ReadFile(filepath.Join(dir, "stream.txt"))
	require.NoError(t, err)
	assert.Equal(t, "X\nY\n", string(b))
}
