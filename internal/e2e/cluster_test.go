package e2e_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"dproc/internal/sshtest"
)

// buildCluster builds examples/cluster into a temporary directory and
// returns the binary's path.
func buildCluster(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	gomod := strings.TrimSpace(string(out))
	require.NotEmpty(t, gomod, "not inside a module")
	bin := filepath.Join(t.TempDir(), "cluster")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/cluster")
	cmd.Dir = filepath.Dir(gomod)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./examples/cluster: %s", msg)
	return bin
}

// runCluster runs the cluster binary with args and returns its exit error,
// standard output and standard error.
func runCluster(t *testing.T, bin string, args ...string) (error, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Dir = t.TempDir()
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "the cluster binary did not finish: %s", stderr.String())
	return err, stdout.String(), stderr.String()
}

// configWithKnownHosts writes a copy of the cluster's ssh_config whose
// UserKnownHostsFile is knownHosts, and returns its path.
func configWithKnownHosts(t *testing.T, c *sshtest.Cluster, knownHosts string) string {
	t.Helper()
	b, err := os.ReadFile(c.ConfigFile())
	require.NoError(t, err)
	cfg := strings.ReplaceAll(string(b), c.KnownHostsFile(), knownHosts)
	require.NotEqual(t, string(b), cfg, "the cluster's ssh_config does not name its known_hosts")
	cfg += "\nHost *\n  GlobalKnownHostsFile none\n"
	p := filepath.Join(t.TempDir(), "ssh_config")
	require.NoError(t, os.WriteFile(p, []byte(cfg), 0o600))
	return p
}

// wrongKnownHosts writes a known_hosts file that holds the right keys for
// every node except node1, for which it holds another ed25519 key.
func wrongKnownHosts(t *testing.T, c *sshtest.Cluster) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	wrong, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	var b strings.Builder
	for _, nd := range c.Nodes() {
		addr := knownhosts.Normalize(nd.Addr())
		if nd.Name() == "node1" {
			b.WriteString(knownhosts.Line([]string{addr}, wrong) + "\n")
			continue
		}
		for _, k := range nd.HostKeys() {
			b.WriteString(knownhosts.Line([]string{addr}, k) + "\n")
		}
	}
	p := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

// TestClusterExampleOverSSH runs the examples/cluster program over three
// sshd nodes and locally on the same input: both write the reference
// result. With a known_hosts that holds a wrong key for node1, or no key at
// all, the run fails with the key error and writes no result.
func TestClusterExampleOverSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	bin := buildCluster(t)
	data := textData(2<<20 + 777)
	input := filepath.Join(t.TempDir(), "input.txt")
	require.NoError(t, os.WriteFile(input, data, 0o600))
	want := asciiUpper(data)
	common := []string{"-input", input, "-metrics", "", "-worker", upperShell}

	t.Run("ssh-and-local", func(t *testing.T) {
		sshOut := filepath.Join(t.TempDir(), "final_result.txt")
		err, stdout, stderr := runCluster(t, bin, append(common, "-nodes", "node1,node2,node3", "-ssh-config", c.ConfigFile(), "-out", sshOut)...)
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		got, err := os.ReadFile(sshOut)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "ssh result differs from the reference (first difference at %d)", firstDiff(want, got))
		for _, h := range c.Hosts() {
			assert.Contains(t, stdout, h, "the report names every node")
		}

		localOut := filepath.Join(t.TempDir(), "final_result.txt")
		err, stdout, stderr = runCluster(t, bin, append(common, "-out", localOut)...)
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		local, err := os.ReadFile(localOut)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(local, got), "ssh and local results differ")
	})

	empty := filepath.Join(t.TempDir(), "known_hosts_empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	tests := []struct {
		name       string
		knownHosts string
		want       []string // in stderr, lower-cased
	}{
		{"changed-key", wrongKnownHosts(t, c), []string{"host key", "changed", "sha256:", "man-in-the-middle"}},
		{"unknown-key", empty, []string{"host key", "not known", "sha256:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configWithKnownHosts(t, c, tt.knownHosts)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "final_result.txt")
			err, stdout, stderr := runCluster(t, bin, append(common, "-nodes", "node1,node2,node3", "-ssh-config", cfg, "-out", out)...)
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "the run should fail, got %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			assert.NotZero(t, ee.ExitCode())
			low := strings.ToLower(stderr)
			for _, w := range tt.want {
				assert.Contains(t, low, w, "stderr:\n%s", stderr)
			}
			assert.Contains(t, stderr, "SHA256:")
			left, err := os.ReadDir(outDir)
			require.NoError(t, err)
			assert.Empty(t, left, "a refused run leaves no result file, nor a temporary one")
			t.Logf("stderr of the refused run:\n%s", stderr)
		})
	}
}
