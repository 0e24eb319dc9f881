package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byHost is a command whose output and status depend on the local node it
// runs on (its directory's name): node2 differs and fails.
const byHost = `case $(basename "$PWD") in node2) echo other; echo oops >&2; exit 3;; *) echo same; echo two;; esac`

// TestExecFoldGolden checks --fold against the golden file: identical
// outputs once under their node set, the failed host apart with its status.
func TestExecFoldGolden(t *testing.T) {
	r := dproc(t, "", "exec", "--fold", byHost)
	assert.Equal(t, 1, r.code)
	golden := filepath.Join("testdata", "exec-fold.golden")
	if os.Getenv("DPROC_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(golden, []byte(r.stdout), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), r.stdout)
	assert.Equal(t, "node2: oops\ndproc: node2: "+byHost+": exit status 3\ndproc: 1 of 3 hosts failed: node2\n", r.stderr)
}

// TestExecStreamed checks pdsh-style lines: every line prefixed with its
// host, stdout and stderr apart, the exit status counting failed hosts.
func TestExecStreamed(t *testing.T) {
	r := dproc(t, "", "exec", byHost)
	assert.Equal(t, 1, r.code)
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	sort.Strings(got)
	assert.Equal(t, []string{"node1: same", "node1: two", "node2: other", "node3: same", "node3: two"}, got)
	assert.Less(t, strings.Index(r.stdout, "node1: same"), strings.Index(r.stdout, "node1: two"), "a host's lines keep their order")
	assert.Contains(t, r.stderr, "node2: oops\n")
	assert.Contains(t, r.stderr, "dproc: 1 of 3 hosts failed: node2\n")

	r = dproc(t, "", "exec", "-w", "node[1-3]", "--local", "exit 2")
	assert.Equal(t, 3, r.code, "three hosts failed")
	assert.Contains(t, r.stderr, "dproc: 3 of 3 hosts failed: node[1-3]\n")

	r = dproc(t, "", "exec", "-x", "node2", "echo", "-n", "hi")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "node1: hi\nnode3: hi\n", sortedLines(r.stdout), "flags after the command are the command's")
}

// TestExecJoblogAndTimeout checks exec's joblog rows and --timeout.
func TestExecJoblogAndTimeout(t *testing.T) {
	log := filepath.Join(t.TempDir(), "joblog")
	r := dproc(t, "", "exec", "--timeout", "300ms", "--joblog", log, `[ $(basename "$PWD") = node3 ] && sleep 20; echo x`)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "node3")
	assert.Contains(t, r.stderr, "timed out")
	es := comparable(readJoblog(t, log))
	require.Len(t, es, 3)
	assert.Equal(t, 0, es[0].Exitval)
	assert.Equal(t, -1, es[2].Exitval)
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n") + "\n"
}
