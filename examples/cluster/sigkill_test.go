package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/nodeflags"
)

// The SIGKILL test re-executes the test binary as the cluster program:
// when helperArgsEnv is set, init runs main with those arguments (a JSON
// list) before any test starts, and main exits.
const (
	helperArgsEnv = "CLUSTER_SIGKILL_HELPER_ARGS"
	markerEnv     = "CLUSTER_SIGKILL_MARKER" // inherited by every process the program starts
)

func init() {
	a := os.Getenv(helperArgsEnv)
	if a == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(a), &args); err != nil {
		fmt.Fprintln(os.Stderr, "bad", helperArgsEnv, err)
		os.Exit(2)
	}
	os.Args = append([]string{"cluster"}, args...)
	main()
	os.Exit(0) // main exits by itself; this is in case it ever returns
}

// procsWith returns the live processes (zombies left out) whose command line
// or environment contains marker.
func procsWith(t *testing.T, marker string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		environ, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if !bytes.Contains(cmdline, []byte(marker)) && !bytes.Contains(environ, []byte(marker)) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) && s[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// clusterProcess starts the cluster program with args in dir, with tmp as
// its temporary directory and marker in its environment.
func clusterProcess(t *testing.T, dir, tmp, marker string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	a, err := json.Marshal(args)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), helperArgsEnv+"="+string(a), markerEnv+"="+marker, "TMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// TestCoordinatorSIGKILL kills the cluster program with SIGKILL while its
// workers hang on local nodes: no process it started is left, and after the
// next run (a -resume of the same job) nothing it left in the temporary
// directory or beside the output remains.
func TestCoordinatorSIGKILL(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	base := t.TempDir()
	work, tmp := filepath.Join(base, "work"), filepath.Join(base, "tmp")
	require.NoError(t, os.Mkdir(work, 0o755))
	require.NoError(t, os.Mkdir(tmp, 0o755))
	marker := fmt.Sprintf("cluster-sigkill-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		for _, pid := range procsWith(t, marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // only after a failure
		}
	})

	var in strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&in, "line %d of the input\n", i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(work, "in.txt"), []byte(in.String()), 0o644))
	hang := filepath.Join(base, "hang")
	require.NoError(t, os.WriteFile(hang, nil, 0o644))
	// While the file hang exists, every worker starts a child shell that
	// never ends, with the marker in its command line.
	worker := fmt.Sprintf("if [ -e %s ]; then sh -c 'sleep 1000; : %s'; fi; tr a-z A-Z", hang, marker)
	args := []string{"-input", "in.txt", "-out", "out.txt", "-worker", worker, "-block", "8K",
		"-journal", "journal", "-metrics", "metrics.csv", "-metrics-interval", "50ms"}

	cmd, out := clusterProcess(t, work, tmp, marker, args...)
	require.NoError(t, cmd.Start())
	waited := false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	require.Eventually(t, func() bool { return len(procsWith(t, ": "+marker)) >= 3 }, 30*time.Second, 20*time.Millisecond,
		"the workers did not start: %s", out)
	roots, err := filepath.Glob(filepath.Join(tmp, nodeflags.TempPrefix+"*"))
	require.NoError(t, err)
	require.Len(t, roots, 1, "the local nodes' root is in TMPDIR")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	waited = true
	assert.Eventually(t, func() bool { return len(procsWith(t, marker)) == 0 }, 5*time.Second, 20*time.Millisecond,
		"processes of the killed program still run: %v", procsWith(t, marker))
	for _, p := range procsWith(t, marker) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		s, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		t.Logf("left: %d %q %s", p, b, s)
	}
	require.DirExists(t, roots[0], "the killed program could not remove its root")

	// The next run resumes the job and must clean up after the killed one.
	require.NoError(t, os.Remove(hang))
	next, out := clusterProcess(t, work, tmp, marker, append(args, "-resume")...)
	done := make(chan error, 1)
	require.NoError(t, next.Start())
	go func() { done <- next.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "the next run failed: %s", out)
	case <-time.After(60 * time.Second):
		_ = next.Process.Kill()
		<-done
		t.Fatalf("the next run did not end: %s", out)
	}
	got, err := os.ReadFile(filepath.Join(work, "out.txt"))
	require.NoError(t, err)
	assert.Equal(t, strings.ToUpper(in.String()), string(got))

	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "stale files in TMPDIR after the next run (the local nodes' root: %s)", filepath.Base(roots[0]))
	stale, err := filepath.Glob(filepath.Join(work, ".out.txt.tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, stale, "the killed run's output temporary file is left after the next run")
}
