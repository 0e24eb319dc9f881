package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
)

// TestSubcommandsOverSSH runs every subcommand on three real sshd nodes
// (skipped without sshd unless DPROC_REQUIRE_SSHD=1).
func TestSubcommandsOverSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	hosts := []string{"-w", "node[1-3]", "--ssh-config", c.ConfigFile()}
	ssh := func(stdin string, args ...string) result {
		t.Helper()
		return dproc(t, stdin, append(append([]string{args[0]}, hosts...), args[1:]...)...)
	}
	dir := t.TempDir()

	t.Run("run blocks", func(t *testing.T) {
		input := lines(5000)
		r := ssh("", "run", "-a", writeFile(t, dir, "in", input), "--block", "8k", "tr a-z A-Z")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, strings.ToUpper(input), r.stdout)
		assert.Empty(t, r.stderr, "no warning when every host works")
	})
	// A host that drops out of a run is named once on stderr, though its
	// work runs elsewhere and the run succeeds: one that refuses
	// connections is down, one that accepts them and never answers has
	// its attempts stalled.
	t.Run("run with a host that refuses", func(t *testing.T) {
		input := lines(5000)
		r := dproc(t, "", "run", "-w", "node1,127.0.0.1:1", "--ssh-config", c.ConfigFile(),
			"-a", writeFile(t, dir, "in-refused", input), "--block", "8k", "tr a-z A-Z")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, strings.ToUpper(input), r.stdout)
		assert.Regexp(t, `^dproc: warning: host 127\.0\.0\.1:1 was down when the run ended \(0 chunks done there\): .*connection refused\n$`, r.stderr)
	})
	t.Run("run with a host that never answers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		var held []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, conn) // accepted, never answered
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			for _, conn := range held {
				conn.Close()
			}
		})
		input := lines(5000)
		r := dproc(t, "", "run", "-w", "node1,"+ln.Addr().String(), "--ssh-config", c.ConfigFile(),
			"-a", writeFile(t, dir, "in-silent", input), "--block", "8k", "tr a-z A-Z")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, strings.ToUpper(input), r.stdout)
		assert.Regexp(t, `^dproc: warning: host `+regexp.QuoteMeta(ln.Addr().String())+`: (\d+ attempts? lost, )?[1-9]\d* attempts? stalled \(0 chunks done there\)\n$`, r.stderr)
	})
	// Every block prints the pid of the shell it ran under: by default a
	// reused session's loop serves many blocks, so far fewer pids than
	// blocks; with --session-per-command each block has its own.
	shells := func(t *testing.T, stderr string) int {
		pids := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				pids[f[len(f)-1]] = true
			}
		}
		return len(pids)
	}
	t.Run("run blocks in reused sessions", func(t *testing.T) {
		input := lines(5000)
		r := ssh("", "run", "-a", writeFile(t, dir, "in2", input), "--block", "1k", "tr a-z A-Z; echo $$ >&2")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, strings.ToUpper(input), r.stdout)
		blocks := (len(input) + 1<<10 - 1) / (1 << 10)
		assert.Less(t, shells(t, r.stderr), blocks/2, "blocks %d", blocks)
	})
	t.Run("run blocks with a session per command", func(t *testing.T) {
		input := lines(500)
		r := ssh("", "run", "--session-per-command", "-a", writeFile(t, dir, "in3", input), "--block", "1k", "tr a-z A-Z; echo $$ >&2")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, strings.ToUpper(input), r.stdout)
		blocks := (len(input) + 1<<10 - 1) / (1 << 10)
		assert.Equal(t, blocks, shells(t, r.stderr))
	})
	t.Run("run arguments", func(t *testing.T) {
		var want strings.Builder
		for _, a := range hostile {
			want.WriteString("[" + a + "]\n")
		}
		r := ssh("", append([]string{"run", "printf '[%s]\\n' {}", ":::"}, hostile...)...)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, want.String(), r.stdout)
	})
	t.Run("run worker file and joblog", func(t *testing.T) {
		script := writeFile(t, dir, "w.sh", "#!/bin/sh\necho \"$1 $(cat | wc -l)\"\n")
		require.NoError(t, os.Chmod(script, 0o755))
		log := filepath.Join(dir, "joblog")
		r := ssh("a\nb\n", "run", "--worker-file", script, "--joblog", log, "count")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "count 2\n", r.stdout)
		es := readJoblog(t, log)
		require.Len(t, es, 1)
		assert.Contains(t, []string{"node1", "node2", "node3"}, es[0].Host)
		assert.Equal(t, int64(4), es[0].Send)
	})
	t.Run("run with a changing hostfile", func(t *testing.T) {
		runHostfileChange(t, true, "--ssh-config", c.ConfigFile())
	})
	t.Run("exec fold", func(t *testing.T) {
		r := ssh("", "exec", "--fold", "echo same")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "---------------\nnode[1-3] (3)\n---------------\nsame\n", r.stdout)
		r = ssh("", "exec", `[ "$HOME" = `+c.Node(2).Home()+` ] && exit 4; echo ok`)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "dproc: 1 of 3 hosts failed: node2\n")
		assert.Equal(t, "node1: ok\nnode3: ok\n", sortedLines(r.stdout))
	})
	t.Run("sync and setup", func(t *testing.T) {
		src := filepath.Join(dir, "tree")
		require.NoError(t, os.MkdirAll(src, 0o755))
		writeFile(t, src, "f", "data\n")
		r := ssh("", "sync", src, "synced")
		require.Equal(t, 0, r.code, r.stderr)
		r = ssh("", "setup", "installed", filepath.Join(src, "f"))
		require.Equal(t, 0, r.code, r.stderr)
		for i := 1; i <= 3; i++ {
			assert.FileExists(t, filepath.Join(c.Node(i).Home(), "synced", "f"))
			assert.FileExists(t, filepath.Join(c.Node(i).Home(), "installed", "f"))
		}
	})
	t.Run("status and metrics", func(t *testing.T) {
		r := ssh("", "status")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "node3")
		r = ssh("", "metrics", "--interval", "100ms", "--count", "1")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, 4, strings.Count(r.stdout, "\n"))
	})
	t.Run("hosts resolve", func(t *testing.T) {
		r := ssh("", "hosts", "--resolve")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "  hostname 127.0.0.1\n")
		assert.Equal(t, 3, strings.Count(r.stdout, "  hostname "))
	})
	t.Run("unknown host key refused", func(t *testing.T) {
		cfg := writeFile(t, dir, "cfg", strings.ReplaceAll(mustRead(t, c.ConfigFile()), c.KnownHostsFile(), filepath.Join(dir, "empty_known_hosts")))
		r := dproc(t, "", "run", "-w", "node1", "--ssh-config", cfg, "echo {}", ":::", "a")
		assert.Equal(t, 255, r.code, r.stderr)
		assert.Contains(t, r.stderr, "node1")
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)

		r = dproc(t, "", "run", "-w", "node1", "--ssh-config", cfg, "--accept-new", "echo {}", ":::", "a")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "a\n", r.stdout)
		assert.Contains(t, mustRead(t, filepath.Join(dir, "empty_known_hosts")), "ssh-ed25519", "--accept-new recorded the key")
	})
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}
