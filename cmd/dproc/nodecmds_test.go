package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNodeOperations runs sync, setup, status and metrics on local nodes
// under a root the test can look into.
func TestNodeOperations(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "nodes")
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	writeFile(t, src, "a.txt", "alpha\n")
	writeFile(t, filepath.Join(src, "sub"), "b.txt", "beta\n")

	r := dproc(t, "", "sync", "--root", root, src, "work")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 3, strings.Count(r.stdout, ": 2 sent (11 bytes), 0 unchanged"), r.stdout)
	for _, n := range []string{"node1", "node2", "node3"} {
		b, err := os.ReadFile(filepath.Join(root, n, "work", "sub", "b.txt"))
		require.NoError(t, err)
		assert.Equal(t, "beta\n", string(b))
	}
	r = dproc(t, "", "sync", "--root", root, src, "work")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 3, strings.Count(r.stdout, ": 0 sent (0 bytes), 2 unchanged"), r.stdout)

	script := filepath.Join(dir, "tool.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho tool\n"), 0o755))
	r = dproc(t, "", "setup", "--root", root, "-x", "node3", "bin", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "node1: sent tool.sh; unchanged -\nnode2: sent tool.sh; unchanged -\n", r.stdout)
	st, err := os.Stat(filepath.Join(root, "node1", "bin", "tool.sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	assert.NoFileExists(t, filepath.Join(root, "node3", "bin", "tool.sh"))

	r = dproc(t, "", "status")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "HOSTNAME")
	assert.Len(t, regexp.MustCompile(`(?m)^node[1-3] .*Linux`).FindAllString(r.stdout, -1), 3, r.stdout)

	r = dproc(t, "", "metrics", "--interval", "100ms", "--count", "2")
	require.Equal(t, 0, r.code, r.stderr)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"timestamp", "node", "cpu", "memory", "io", "read_bytes_per_s", "write_bytes_per_s"}, rows[0])
	assert.Len(t, rows, 1+3*2)

	out := filepath.Join(dir, "m.csv")
	r = dproc(t, "", "metrics", "--interval", "100ms", "--count", "1", "-o", out)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, 4, strings.Count(string(b), "\n"))

	// A missing source cannot work on any host: it is said once and the
	// run does not start (see TestSyncSafety).
	r = dproc(t, "", "sync", "--root", root, filepath.Join(dir, "missing"), "work")
	assert.Equal(t, 255, r.code, r.stderr)
	assert.Equal(t, "dproc: sync: source: stat "+filepath.Join(dir, "missing")+": no such file or directory\n", r.stderr)
}

// TestHosts pins host selection as users write it.
func TestHosts(t *testing.T) {
	dir := t.TempDir()
	hf := writeFile(t, dir, "hosts", "# racks\n4/alice@rack[1-2]:2222\nweb01 # the front\n\n")
	bad := writeFile(t, dir, "bad", "ok1\nn[1-\n")
	tests := []struct {
		name string
		args []string
		want string
		code int
		err  string
	}{
		{"default local nodes", nil, "node1\nnode2\nnode3\n", 0, ""},
		{"node sets with padding", []string{"-w", "node[1-3,7],web[08-10]"}, "node1\nnode2\nnode3\nnode7\nweb08\nweb09\nweb10\n", 0, ""},
		{"exclusion by set and pattern", []string{"-w", "n[1-5]", "-x", "n[2-3]", "-x", "*5"}, "n1\nn4\n", 0, ""},
		{"hostfile with slots", []string{"--hostfile", hf}, "4/alice@rack1:2222\n4/alice@rack2:2222\nweb01\n", 0, ""},
		{"folded", []string{"-w", "n[1-3],n7", "--fold"}, "n[1-3,7]\n", 0, ""},
		{"default nodes excluded", []string{"-x", "node2"}, "node1\nnode3\n", 0, ""},
		{"bad syntax names the column", []string{"-w", "n1,n[3-1]"}, "", 2, "hosts: column"},
		{"bad hostfile names file and line", []string{"--hostfile", bad}, "", 2, bad + ":2: column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dproc(t, "", append([]string{"hosts"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Equal(t, tt.want, r.stdout)
			assert.Contains(t, r.stderr, tt.err)
		})
	}
}

// TestHostsResolve prints ssh_config settings without connecting.
func TestHostsResolve(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "ssh_config", "Host db\n  HostName 10.1.2.3\n  Port 2200\n  User carol\n")
	r := dproc(t, "", "hosts", "-w", "db,bob@other:23", "--ssh-config", cfg, "--resolve")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "db\n")
	assert.Contains(t, r.stdout, "  hostname 10.1.2.3\n")
	assert.Contains(t, r.stdout, "  port 2200\n")
	assert.Contains(t, r.stdout, "  user carol\n")
	assert.Contains(t, r.stdout, "bob@other:23\n")
	assert.Contains(t, r.stdout, "  port 23\n")

	r = dproc(t, "", "hosts", "--resolve")
	assert.Equal(t, 2, r.code)
}

// TestSyncSafety: a missing source is said once, before any host is
// contacted; a deleting sync onto the home (an empty DST from an unset
// variable) is refused in one line naming the flag that allows it, and
// nothing in the homes is touched.
func TestSyncSafety(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "nodes")
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(src, 0o755))
	writeFile(t, src, "a.txt", "alpha\n")

	r := dproc(t, "", "sync", "--root", root, filepath.Join(dir, "missing"), "work")
	assert.Equal(t, 255, r.code, r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, "no such file or directory"), r.stderr)
	assert.NoDirExists(t, filepath.Join(root, "node1", "work"))

	for _, n := range []string{"node1", "node2", "node3"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, n, ".ssh"), 0o700))
		writeFile(t, filepath.Join(root, n, ".ssh"), "authorized_keys", "key\n")
	}
	for _, dst := range []string{"", "~", ".", "/"} {
		r = dproc(t, "", "sync", "--root", root, "--delete", src, dst)
		assert.Equal(t, 3, r.code, "dst %q: %s", dst, r.stderr)
		assert.Equal(t, 1, strings.Count(r.stderr, "--allow-dangerous-delete"), r.stderr)
		assert.Contains(t, r.stderr, "node[1-3]")
		for _, n := range []string{"node1", "node2", "node3"} {
			assert.FileExists(t, filepath.Join(root, n, ".ssh", "authorized_keys"), "dst %q", dst)
		}
	}
	r = dproc(t, "", "sync", "--root", root, "--delete", "--allow-dangerous-delete", src, "")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NoFileExists(t, filepath.Join(root, "node1", ".ssh", "authorized_keys"), "the flag lets --delete mirror onto the home")
	assert.FileExists(t, filepath.Join(root, "node1", "a.txt"))
}
