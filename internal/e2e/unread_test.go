package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/internal/sshtest"
)

// TestUnreadInputOverSSH runs workers that read only the start of chunks of
// 1 MiB, less than an SSH channel's window and the pipes behind it hold, on
// sshd nodes: the unread input is counted where the worker reads, so it is
// reported, -require-full-read fails the run, and a worker that reads all
// of its input leaves nothing unread.
func TestUnreadInputOverSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 2, nil)
	data := textData(3<<20 + 4321)

	t.Run("library", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			shell  string
			unread func(chunks int) int64
		}{
			{"head -c 10", "head -c 10", func(chunks int) int64 { return int64(len(data) - 10*chunks) }},
			{"tr", upperShell, func(int) int64 { return 0 }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := &pipeline{tr: newSSH(t, c, 0), hosts: c.Hosts(), job: dispatch.Job{Shell: tc.shell}, data: data, block: 1 << 20}
				res := p.run(t, testContext(t, 60*time.Second), nil)
				require.NoError(t, res.err)
				require.Greater(t, res.rep.Chunks, 1)
				assert.Equal(t, tc.unread(res.rep.Chunks), res.rep.Unread)
			})
		}
	})

	t.Run("cluster", func(t *testing.T) {
		bin := buildCluster(t)
		input := filepath.Join(t.TempDir(), "input.txt")
		require.NoError(t, os.WriteFile(input, data, 0o600))
		ssh := []string{"-input", input, "-metrics", "", "-block", "1M", "-nodes", "node1,node2", "-ssh-config", c.ConfigFile()}
		out := filepath.Join(t.TempDir(), "out.txt")

		err, stdout, stderr := runCluster(t, bin, append(ssh, "-out", out, "-worker", "head -n 1")...)
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Regexp(t, regexp.MustCompile(`(?m)^cluster: warning: the worker left input unread in \d+ chunks`), stderr)
		assert.Equal(t, 1, strings.Count(stderr, "warning"), stderr)

		err, stdout, stderr = runCluster(t, bin, append(ssh, "-out", out, "-worker", "cat")...)
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.NotContains(t, stderr, "warning")

		fail := filepath.Join(t.TempDir(), "out.txt")
		err, _, stderr = runCluster(t, bin, append(ssh, "-out", fail, "-worker", "head -n 1", "-require-full-read")...)
		require.Error(t, err, "-require-full-read fails a worker that left input unread")
		assert.Contains(t, stderr, `command "head -n 1" exited 0 but read only`)
		assert.NoFileExists(t, fail)
	})
}
