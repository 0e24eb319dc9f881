package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain runs dproc's main when the test binary is re-executed by a test
// that needs a real process (signals).
func TestMain(m *testing.M) {
	if os.Getenv("DPROC_TEST_MAIN") == "1" {
		os.Args = append([]string{"dproc"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

// result is one invocation of dproc.
type result struct {
	stdout, stderr string
	code           int
}

// dproc runs Main with args and stdin.
func dproc(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// TestConventions pins the exit statuses and streams of the command-line
// conventions: help and version on stdout with 0, usage errors with 2.
func TestConventions(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // contained
		stderr   string // contained
		noStderr bool
	}{
		{"help", []string{"--help"}, 0, "Usage:", "", true},
		{"short help", []string{"-h"}, 0, "Available Commands:", "", true},
		{"help run", []string{"help", "run"}, 0, "Argument mode", "", true},
		{"run --help", []string{"run", "--help"}, 0, "--joblog", "", true},
		{"version", []string{"--version"}, 0, "dproc version", "", true},
		{"completion", []string{"completion", "bash"}, 0, "bash completion", "", true},
		{"unknown flag", []string{"run", "--bogus", "x"}, 2, "", "unknown flag: --bogus", false},
		{"unknown command", []string{"frobnicate"}, 2, "", "unknown command", false},
		{"no worker", []string{"run"}, 2, "", "no worker command", false},
		{"bad -j", []string{"run", "-j", "0", "cat"}, 2, "", "-j 0", false},
		{"bad halt", []string{"run", "--halt", "sometimes", "cat"}, 2, "", `--halt "sometimes"`, false},
		{"bad timeout", []string{"run", "--timeout", "soon", "cat"}, 2, "", `--timeout "soon"`, false},
		{"bad block", []string{"run", "--block", "big", "cat"}, 2, "", `--block "big"`, false},
		{"resume without journal", []string{"run", "--resume", "cat"}, 2, "", "need --journal", false},
		{"bad hosts", []string{"hosts", "-w", "node[1-3"}, 2, "", "hosts: column 5: unclosed '['", false},
		{"exec without command", []string{"exec"}, 2, "", "requires at least 1 arg", false},
		{"sync args", []string{"sync", "onlyone"}, 2, "", "accepts 2 arg", false},
		{"exclude everything", []string{"hosts", "-x", "node*"}, 2, "", "no hosts", false},
		{"ssh-config without hosts", []string{"exec", "--ssh-config", "/dev/null", "true"}, 2, "", "--ssh-config needs SSH hosts", false},
		{"-a with :::", []string{"run", "-a", "f", "echo", ":::", "x"}, 2, "", "-a cannot go with :::", false},
		{"halt share", []string{"run", "--halt", "now,fail=100%", "cat"}, 2, "", "--halt", false},
		{"missing input", []string{"run", "-a", "/nonexistent/in", "cat"}, 255, "", "dproc: input:", false},
		{"missing worker file", []string{"run", "--worker-file", "/nonexistent/w.sh"}, 2, "", "--worker-file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dproc(t, "", tt.args...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stdout, tt.stdout)
			assert.Contains(t, r.stderr, tt.stderr)
			if tt.noStderr {
				assert.Empty(t, r.stderr)
			}
			assert.Equal(t, tt.code == 2, strings.Contains(r.stderr, "Run 'dproc --help'"), "the usage hint is for usage errors only")
			if tt.code != 0 {
				for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
					assert.True(t, strings.HasPrefix(l, "dproc: ") || strings.HasPrefix(l, "Run 'dproc"), "stderr line %q", l)
				}
			}
		})
	}
}

// TestUnreachableHostExits255 checks that a run that cannot start because
// no host answers exits 255 with one line naming the host.
func TestUnreachableHostExits255(t *testing.T) {
	r := dproc(t, "", "run", "-w", "127.0.0.1:1", "--ssh-config", os.DevNull, "echo {}", ":::", "a")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, `"127.0.0.1:1"`)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
}

// TestExitStatusCountsFailedJobs pins GNU parallel's exit statuses under
// --halt never (the default) and --halt now,fail=1.
func TestExitStatusCountsFailedJobs(t *testing.T) {
	many := []string{"run", "-j", "4", "exit {}", ":::"}
	for i := 0; i < 102; i++ {
		many = append(many, "1")
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"all done", []string{"run", "exit {}", ":::", "0", "0", "0"}, 0},
		{"two failed", []string{"run", "exit {}", ":::", "0", "3", "0", "5"}, 2},
		{"more than 100 failed", many, 101},
		{"halt now: the job's status", []string{"run", "-j", "1", "--halt", "now,fail=1", "exit {}", ":::", "0", "7"}, 7},
		{"block mode failure", []string{"run", "exit 4"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dproc(t, "line\n", tt.args...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.NotContains(t, r.stderr, "--help", "failed jobs are no usage error")
		})
	}
}

// TestSignals re-executes the test binary as dproc, signals it while a job
// runs, and checks the exit status: 130 for SIGINT, 143 for SIGTERM.
func TestSignals(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			mark := filepath.Join(dir, "started")
			cmd := exec.Command(os.Args[0], "run", "-o", filepath.Join(dir, "out"), "touch "+mark+"; sleep 30; echo {}", ":::", "a")
			cmd.Env = append(os.Environ(), "DPROC_TEST_MAIN=1", "TMPDIR="+dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			require.Eventually(t, func() bool { _, err := os.Stat(mark); return err == nil }, 20*time.Second, 20*time.Millisecond)
			start := time.Now()
			require.NoError(t, cmd.Process.Signal(tt.sig))
			err := cmd.Wait()
			var xe *exec.ExitError
			require.ErrorAs(t, err, &xe)
			assert.Equal(t, tt.code, xe.ExitCode(), "stderr: %s", stderr.String())
			assert.Less(t, time.Since(start), 15*time.Second, "the job was stopped, not waited for")
			assert.Contains(t, stderr.String(), "dproc: interrupted")
			assert.NoFileExists(t, filepath.Join(dir, "out"), "-o is not written by an interrupted run")
		})
	}
}

func TestMain_noLeftoverRoots(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	r := dproc(t, "", "exec", "true")
	require.Equal(t, 0, r.code, r.stderr)
	left, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	assert.Empty(t, left, "local nodes' temporary root removed")
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func lines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}
