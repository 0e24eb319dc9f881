package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/sshtest"
	"dproc/split"
	"dproc/transport/sshtransport"
)

// The SIGKILL test re-executes the test binary as a coordinator: when
// sigkillConfigEnv is set, init runs a dispatch over the SSH nodes it names
// (before any test starts, so TestMain never runs) and never returns.
const (
	sigkillConfigEnv  = "E2E_SIGKILL_SSH_CONFIG" // the cluster's ssh_config
	sigkillHostsEnv   = "E2E_SIGKILL_HOSTS"      // comma-separated
	sigkillPatternEnv = "E2E_SIGKILL_PATTERN"    // what the hanging worker runs
)

func init() {
	cfg := os.Getenv(sigkillConfigEnv)
	if cfg == "" {
		return
	}
	os.Exit(sigkillCoordinator(cfg, strings.Split(os.Getenv(sigkillHostsEnv), ","), os.Getenv(sigkillPatternEnv)))
}

// sigkillCoordinator runs a job whose workers hang on every host, printing
// "running" once the first chunk has started on every host, until it is
// killed.
func sigkillCoordinator(cfg string, hosts []string, pattern string) int {
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: cfg, NoAgent: true, ConnectTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	started := map[string]bool{}
	d, err := dispatch.New(tr, hosts, nil)
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	data := textData(64 << 10)
	s := split.Blocks(bytesReader(data), int64(len(data)), 1<<10, nil)
	// The shell stays (no exec) and its child carries the pattern.
	job := &dispatch.Job{Shell: "cat >/dev/null; " + pattern + "; :"}
	_, err = d.Run(context.Background(), job, s, gather.Ordered(discard{}, nil), &dispatch.RunOptions{Events: func(e dispatch.Event) {
		if e.Kind == dispatch.ChunkStarted && !started[e.Host] {
			started[e.Host] = true
			if len(started) == len(hosts) {
				fmt.Println("running")
			}
		}
	}})
	fmt.Println("run returned:", err)
	return 3
}

// TestCoordinatorSIGKILLOverSSH kills the coordinator with SIGKILL while
// its workers run on sshd nodes: after a bounded wait no worker is left on
// any node (the connection drops, sshd ends the sessions, and the wrapper of
// the SSH transport kills each command's process group).
func TestCoordinatorSIGKILLOverSSH(t *testing.T) {
	c := sshtest.StartCluster(t, 2, nil)
	pattern := fmt.Sprintf("sleep 10%d", time.Now().UnixNano()%1000)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sigkillConfigEnv+"="+c.ConfigFile(),
		sigkillHostsEnv+"="+strings.Join(c.Hosts(), ","), sigkillPatternEnv+"="+pattern)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		require.Equal(t, "running", l)
	case <-time.After(30 * time.Second):
		t.Fatal("the coordinator did not start its workers")
	}
	for _, nd := range c.Nodes() {
		waitProcess(t, nd, pattern)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killed = true
	// The SSH transport's wrapper notices within a second that sshd is
	// gone, sends SIGTERM to the job's group, and SIGKILL 2 s later; its
	// own process (whose command line holds the job's) goes last. The
	// wait allows for a loaded machine.
	start := time.Now()
	for _, nd := range c.Nodes() {
		require.Eventually(t, func() bool {
			ps, err := nd.Processes(pattern)
			return err == nil && len(ps) == 0
		}, 15*time.Second, 50*time.Millisecond, "a worker %q still runs on %s", pattern, nd.Name())
	}
	t.Logf("no worker left on any node %s after the coordinator was killed", time.Since(start).Round(time.Millisecond))
}
