package localtransport_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
	"dproc/transport/localtransport"
)

// The tests in this file re-execute the test binary as a coordinator (a
// process using a Transport), SIGKILL it, and look at what it leaves.
const (
	helperEnv = "LOCALTRANSPORT_TEST_HELPER" // the helper's mode
	markerEnv = "LOCALTRANSPORT_TEST_MARKER" // a token in its commands' command lines
	tmpEnv    = "LOCALTRANSPORT_TEST_TMP"    // where it makes its root
)

// rootPrefix is the MkdirTemp prefix of the helper's root.
const rootPrefix = "lt-test-"

// helperChildren are how the helper's commands start their child shells:
// in the command's process group with its environment, with an empty
// environment (only the kill of the group reaches it), and in a session of
// its own (only the search by environment reaches it).
var helperChildren = []string{"", "env -i ", "setsid "}

// runHelper is the coordinator. It makes a root with MkdirTemp, starts a
// command per helperChildren on it whose shell has a child shell carrying
// the marker in its command line, starts a Put whose input never ends,
// prints "ready" and the root, and waits to be killed.
func runHelper(mode string) int {
	marker := os.Getenv(markerEnv)
	root, err := localtransport.MkdirTemp(os.Getenv(tmpEnv), rootPrefix)
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	tr, err := localtransport.New(root, &localtransport.Options{Hosts: []string{"n1"}})
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	ctx := context.Background()
	var started sync.WaitGroup
	for i, how := range helperChildren {
		started.Add(1)
		ready := make(chan struct{})
		go func() {
			// The shell runs a child shell and waits for it; neither
			// exits by itself. "exec" is avoided so that both stay.
			_ = tr.Run(ctx, "n1", &transport.Command{
				Shell:  fmt.Sprintf("%ssh -c 'sleep 1000; : %s-child-%d' & echo started; wait; : %s-parent", how, marker, i, marker),
				Stdout: &notifyWriter{marker: "started", ready: ready},
			})
		}()
		go func() { <-ready; started.Done() }()
	}
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte("partial")) }() // then nothing, forever
	go func() { _ = tr.Put(ctx, "n1", "sub/file", pr, 0o644) }()
	started.Wait()
	// Wait for the Put's temporary file, so the test finds one.
	for {
		m, _ := filepath.Glob(filepath.Join(root, "n1", "sub", ".file.dproc-*"))
		if len(m) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("ready", root)
	if mode == "kill-with-watcher" {
		// The test kills the watcher too: tell it the parent's id.
		fmt.Println("pid", os.Getpid())
	}
	select {}
}

// marked returns the live processes (zombies left out) whose command line
// contains marker.
func marked(t *testing.T, marker string) []int {
	t.Helper()
	return markedBut(t, marker, "")
}

// childShells returns the live child shells of the helper's commands: their
// command line has the child marker, the parent's (which holds the child's
// text too) has the parent marker as well.
func childShells(t *testing.T, marker string) []int {
	t.Helper()
	var shells []int
	for _, pid := range markedBut(t, marker+"-child", marker+"-parent") {
		// Not env or setsid on their way to exec the shell.
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && strings.HasPrefix(string(b), "sh\x00-c\x00") {
			shells = append(shells, pid)
		}
	}
	return shells
}

// markedBut returns the live processes whose command line contains marker
// and, unless it is empty, not but.
func markedBut(t *testing.T, marker, but string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(b), marker) || (but != "" && strings.Contains(string(b), but)) || !alive(pid) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// killLeftovers kills what a helper left (when a test fails, or on purpose
// in TestDeathSignalWithoutWatcher): every process whose command line or
// environment holds marker or whose working directory is under dir (the
// children started with an empty environment), twice for children forked
// meanwhile.
func killLeftovers(marker, dir string) {
	for range 2 {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			environ, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
			cwd, _ := os.Readlink("/proc/" + e.Name() + "/cwd")
			if strings.Contains(string(cmdline), marker) || strings.Contains(string(environ), marker) ||
				strings.HasPrefix(cwd, dir+"/") {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// children returns the live children of ppid whose command line contains s.
func children(t *testing.T, ppid int, s string) []int {
	t.Helper()
	var pids []int
	for _, pid := range marked(t, s) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startHelper starts the coordinator in mode and returns it, its root and
// the marker of its commands once they all run. The test's cleanup kills
// whatever carries the marker, so that a failing test leaves nothing.
func startHelper(t *testing.T, mode, tmp string) (*exec.Cmd, string, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	marker := fmt.Sprintf("lt-marker-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, markerEnv+"="+marker, tmpEnv+"="+tmp)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		killLeftovers(marker, tmp)
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var root string
	select {
	case l := <-lines:
		var ok bool
		root, ok = strings.CutPrefix(l, "ready ")
		require.True(t, ok, "the helper said %q", l)
	case <-time.After(20 * time.Second):
		t.Fatal("the helper did not start its commands")
	}
	if mode == "kill-with-watcher" {
		<-lines // its pid, which the test knows already
	}
	go func() {
		for range lines {
		}
	}()
	require.Eventually(t, func() bool { return len(childShells(t, marker)) == len(helperChildren) }, 5*time.Second, 10*time.Millisecond,
		"the shells' children run")
	// A shell forked for "&" has the parent's command line until it execs.
	require.Eventually(t, func() bool { return len(marked(t, marker+"-parent")) == len(helperChildren) }, 5*time.Second, 10*time.Millisecond,
		"the commands' shells run")
	return cmd, root, marker
}

// TestCoordinatorSIGKILL kills a coordinator with SIGKILL while it runs
// commands and a Put: the commands and their children die with it, and its
// temporary files are removed by the next Put there and its root by the
// next MkdirTemp.
func TestCoordinatorSIGKILL(t *testing.T) {
	tmp := t.TempDir()
	cmd, root, marker := startHelper(t, "kill", tmp)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	assert.Eventually(t, func() bool { return len(marked(t, marker)) == 0 }, 5*time.Second, 20*time.Millisecond,
		"processes left after the coordinator was killed: %v", marked(t, marker))

	// What the killed process left: its root, with a Put's temporary
	// file in it.
	stale, err := filepath.Glob(filepath.Join(root, "n1", "sub", ".file.dproc-*"))
	require.NoError(t, err)
	require.Len(t, stale, 1)

	// A later coordinator using the same root (as with a root given by
	// the user) removes the stale temporary file on its first Put there.
	tr, err := localtransport.New(root, nil)
	require.NoError(t, err)
	require.NoError(t, tr.Put(context.Background(), "n1", "sub/other", strings.NewReader("x"), 0o644))
	require.NoError(t, tr.Close())
	assert.NoFileExists(t, stale[0])
	assert.FileExists(t, filepath.Join(root, "n1", "sub", "other"))

	// A later MkdirTemp with the same prefix removes the stale root.
	fresh, err := localtransport.MkdirTemp(tmp, rootPrefix)
	require.NoError(t, err)
	assert.NoDirExists(t, root)
	ents, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Equal(t, filepath.Base(fresh), ents[0].Name())
}

// TestDeathSignalWithoutWatcher kills the coordinator and its watcher at
// once: the commands still die, by their death signal (Linux only); their
// children, which only the watcher would kill, are left (and killed by the
// test's cleanup).
func TestDeathSignalWithoutWatcher(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the death signal is Linux's")
	}
	cmd, _, marker := startHelper(t, "kill-with-watcher", t.TempDir())
	watchers := children(t, cmd.Process.Pid, "dproc-localtransport-watcher")
	require.Len(t, watchers, 1, "one watcher per Transport")
	require.NoError(t, syscall.Kill(watchers[0], syscall.SIGKILL))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	assert.Eventually(t, func() bool { return len(marked(t, marker+"-parent")) == 0 }, 5*time.Second, 20*time.Millisecond,
		"commands left after the coordinator was killed: %v", marked(t, marker+"-parent"))
	assert.Len(t, childShells(t, marker), len(helperChildren), "without the watcher the children stay (so the watcher is what kills them)")
}

// TestThreadExitDoesNotKill runs commands while other goroutines end
// locked OS threads. The death signal fires when the thread that started a
// command ends, so a command started on a thread that another goroutine then
// takes and ends would be killed: Run keeps its thread until the command
// has been waited for.
func TestThreadExitDoesNotKill(t *testing.T) {
	tr := newTransport(t, "n1")
	ctx := context.Background()
	stop := make(chan struct{})
	var churn sync.WaitGroup
	for range 2 {
		churn.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				go func() {
					runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
					close(done)
				}()
				<-done
			}
		})
	}
	errs := make([]error, 2*12)
	for round := range 2 {
		var runs sync.WaitGroup
		for i := range 12 {
			runs.Go(func() {
				errs[round*12+i] = tr.Run(ctx, "n1", &transport.Command{Shell: "sleep 0.2"})
			})
		}
		runs.Wait()
	}
	close(stop)
	churn.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "command %d", i)
	}
}

// TestMkdirTempSweep checks which directories MkdirTemp removes: only those
// with its prefix and name format whose owner has ended (or whose process id
// now belongs to a process started later), and only directories.
func TestMkdirTempSweep(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("start times need /proc")
	}
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	deadPID := strconv.Itoa(dead.Process.Pid)
	self := strconv.Itoa(os.Getpid())
	b, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	selfStart := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))[19]

	tmp := t.TempDir()
	cases := []struct {
		name    string
		dir     bool
		removed bool
	}{
		{"p-" + deadPID + ".123-1", true, true},             // owner ended
		{"p-" + self + ".1-2", true, true},                  // id reused by this later process
		{"p-" + self + "." + selfStart + "-3", true, false}, // this process's own
		{"p-" + self + ".0-4", true, false},                 // start time unknown, owner alive
		{"p-" + deadPID + ".123-5", false, false},           // a file, not a directory
		{"q-" + deadPID + ".123-6", true, false},            // another prefix
		{"p-" + deadPID + "-7", true, false},                // not MkdirTemp's format
		{"p-" + deadPID + ".123-8x", true, false},           // not MkdirTemp's format
	}
	for _, tc := range cases {
		p := filepath.Join(tmp, tc.name)
		if tc.dir {
			require.NoError(t, os.MkdirAll(filepath.Join(p, "host", "sub"), 0o755))
		} else {
			require.NoError(t, os.WriteFile(p, nil, 0o644))
		}
	}
	fresh, err := localtransport.MkdirTemp(tmp, "p-")
	require.NoError(t, err)
	assert.Regexp(t, `^p-`+self+`\.`+selfStart+`-[0-9]+$`, filepath.Base(fresh))
	for _, tc := range cases {
		_, err := os.Lstat(filepath.Join(tmp, tc.name))
		if tc.removed {
			assert.ErrorIs(t, err, os.ErrNotExist, tc.name)
		} else {
			assert.NoError(t, err, tc.name)
		}
	}
}

// TestCloseLeavesBackgroundChild checks that Close, unlike the death of
// this process, leaves alone a background child that a command left
// running after it exited.
func TestCloseLeavesBackgroundChild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	tr, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: []string{"n1"}})
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, tr.Run(context.Background(), "n1", &transport.Command{
		Shell: "sleep 1000 >/dev/null 2>&1 & echo $!", Stdout: &out,
	}))
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.NoError(t, tr.Close())
	time.Sleep(200 * time.Millisecond) // time for a watcher to kill it
	assert.True(t, alive(pid), "Close killed a command's background child")
}
