package sshtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// sshCmd runs the OpenSSH client with the cluster's ssh_config and returns
// its stdout; ctx bounds it.
func sshCmd(ctx context.Context, c *Cluster, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ssh", append([]string{"-F", c.ConfigFile()}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("ssh %v: %w: %s", args, err, errb.String())
	}
	return out.String(), nil
}

func needClient(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
				t.Fatalf("%s not installed", n)
			}
			t.Skipf("%s not installed (package openssh-client)", n)
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// setup is one way to run a cluster on this machine.
type setup struct {
	name string
	opts Options
}

// setups returns the home mechanisms this machine can run, and, as root,
// an unprivileged sshd running as nobody.
func setups() []setup {
	var ss []setup
	if u, err := user.Current(); err == nil && !noLogin(loginShell(u)) {
		ss = append(ss, setup{"ForceCommand", Options{Home: HomeForceCommand}})
	}
	if findNSSWrapper("") == "" {
		return ss
	}
	ss = append(ss, setup{"nss_wrapper", Options{Home: HomeNSSWrapper}})
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("nobody"); err == nil {
			ss = append(ss, setup{"nss_wrapper_nobody", Options{Home: HomeNSSWrapper, User: "nobody"}})
		}
	}
	return ss
}

func TestClusterOpenSSHClient(t *testing.T) {
	needClient(t, "ssh", "sftp", "scp")
	for _, su := range setups() {
		t.Run(su.name, func(t *testing.T) {
			ctx := testCtx(t)
			c := StartCluster(t, 3, &su.opts)
			require.Equal(t, su.opts.Home, c.HomeMode())
			require.Equal(t, []string{"node1", "node2", "node3"}, c.Hosts())

			ports := map[int]bool{}
			for i, nd := range c.Nodes() {
				assert.Equal(t, fmt.Sprintf("node%d", i+1), nd.Name())
				ports[nd.Port()] = true
				out, err := sshCmd(ctx, c, nd.Name(), `pwd; echo "$HOME"; cd ~ && pwd`)
				require.NoError(t, err)
				assert.Equal(t, strings.Repeat(nd.Home()+"\n", 3), out, "node %s", nd.Name())
			}
			assert.Len(t, ports, 3, "distinct ports")

			// sftp: a relative path lands in the node home.
			src := filepath.Join(t.TempDir(), "src.txt")
			require.NoError(t, os.WriteFile(src, []byte("hello sftp\n"), 0o600))
			batch := "put " + src + " up.txt\nmkdir sub\nput " + src + " sub/x\n"
			cmd := exec.CommandContext(ctx, "sftp", "-F", c.ConfigFile(), "-b", "-", "node2")
			cmd.Stdin = strings.NewReader(batch)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			got, err := os.ReadFile(filepath.Join(c.Node(2).Home(), "up.txt"))
			require.NoError(t, err)
			assert.Equal(t, "hello sftp\n", string(got))
			assert.FileExists(t, filepath.Join(c.Node(2).Home(), "sub", "x"))
			assert.NoFileExists(t, filepath.Join(c.Node(1).Home(), "up.txt"))

			// scp (SFTP protocol by default in OpenSSH 9) likewise.
			cmd = exec.CommandContext(ctx, "scp", "-F", c.ConfigFile(), src, "node3:viascp.txt")
			out, err = cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.FileExists(t, filepath.Join(c.Node(3).Home(), "viascp.txt"))

			// The marker does not leak nss_wrapper into sessions.
			out2, err := sshCmd(ctx, c, "node1", "env")
			require.NoError(t, err)
			assert.NotContains(t, out2, "LD_PRELOAD")
			assert.NotContains(t, out2, "SSH_ORIGINAL_COMMAND")
			assert.Contains(t, out2, "HOME="+c.Node(1).Home()+"\n")
		})
	}
}

// goClient dials nd with x/crypto/ssh and the cluster's key and known_hosts.
func goClient(t *testing.T, c *Cluster, addr string) *ssh.Client {
	t.Helper()
	cfg, err := c.ClientConfig()
	require.NoError(t, err)
	cfg.Timeout = 5 * time.Second
	cl, err := ssh.Dial("tcp", addr, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

func TestHostKeyTypes(t *testing.T) {
	c := StartCluster(t, 1, &Options{HostKeyTypes: []string{KeyED25519, KeyECDSA, KeyRSA}})
	nd := c.Node(1)
	require.Len(t, nd.HostKeys(), 3)
	kh, err := os.ReadFile(c.KnownHostsFile())
	require.NoError(t, err)
	for _, k := range nd.HostKeys() {
		assert.Contains(t, string(kh), fmt.Sprintf("[127.0.0.1]:%d %s ", nd.Port(), k.Type()))
	}
	for _, alg := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSASHA512} {
		cfg, err := c.ClientConfig()
		require.NoError(t, err)
		cfg.HostKeyAlgorithms = []string{alg}
		cl, err := ssh.Dial("tcp", nd.Addr(), cfg)
		require.NoError(t, err, alg)
		require.NoError(t, cl.Close())
	}
}

func TestSessionSignal(t *testing.T) {
	for _, su := range setups() {
		t.Run(su.name, func(t *testing.T) {
			c := StartCluster(t, 1, &su.opts)
			assert.Equal(t, su.opts.Home != HomeForceCommand && c.User() != "root", c.SignalsWork())
			cl := goClient(t, c, c.Node(1).Addr())
			s, err := cl.NewSession()
			require.NoError(t, err)
			defer s.Close()
			require.NoError(t, s.Start("exec sleep 31"))
			waitProcs(t, c.Node(1), "sleep 31", 1)
			require.NoError(t, s.Signal(ssh.SIGTERM))
			if !c.SignalsWork() {
				// sshd refuses signals for forced commands; the process
				// stays until killed.
				time.Sleep(200 * time.Millisecond)
				pids, err := c.Node(1).Processes("sleep 31")
				require.NoError(t, err)
				assert.NotEmpty(t, pids)
				return
			}
			err = s.Wait()
			var ee *ssh.ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, "TERM", ee.Signal())
			waitProcs(t, c.Node(1), "sleep 31", 0)
		})
	}
}

// waitProcs waits until nd has exactly want processes matching pattern.
func waitProcs(t *testing.T, nd *Node, pattern string, want int) []int {
	t.Helper()
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		pids, err = nd.Processes(pattern)
		require.NoError(t, err)
		if len(pids) == want {
			return pids
		}
		if time.Now().After(deadline) {
			var desc []string
			for _, pid := range pids {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				ppid, state, _ := readStat(pid)
				desc = append(desc, fmt.Sprintf("%d(ppid %d, %c): %q", pid, ppid, state, cmd))
			}
			t.Fatalf("%s: want %d processes matching %q, have %d: %s", nd.Name(), want, pattern, len(pids), strings.Join(desc, "; "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKillRestart(t *testing.T) {
	needClient(t, "ssh")
	c := StartCluster(t, 2, nil)
	nd := c.Node(1)
	cl := goClient(t, c, nd.Addr())
	s, err := cl.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Start("exec sleep 32"))
	waitProcs(t, nd, "sleep 32", 1)
	port, keys := nd.Port(), nd.HostKeys()

	require.NoError(t, nd.Kill())
	assert.False(t, nd.Running())
	assert.Zero(t, nd.Pid())
	pids, err := nd.Processes("")
	require.NoError(t, err)
	assert.Empty(t, pids, "no process of the killed node is left")
	err = s.Wait()
	assert.Error(t, err, "the session dies with the node")
	_, err = net.DialTimeout("tcp", nd.Addr(), time.Second)
	assert.Error(t, err, "nothing listens on a killed node")

	// Another node is untouched.
	_, err = sshCmd(testCtx(t), c, "node2", "true")
	require.NoError(t, err)

	require.NoError(t, nd.Restart())
	assert.True(t, nd.Running())
	assert.Equal(t, port, nd.Port())
	assert.Equal(t, keys, nd.HostKeys())
	cl2 := goClient(t, c, nd.Addr()) // strict known_hosts: same key
	out, err := runOut(cl2, "pwd")
	require.NoError(t, err)
	assert.Equal(t, nd.Home()+"\n", out)

	require.NoError(t, nd.Stop())
	assert.False(t, nd.Running())
	require.Error(t, nd.Freeze(), "freezing a stopped node")
	require.NoError(t, nd.Start())
	require.Error(t, nd.Start(), "starting a running node")
	_, err = sshCmd(testCtx(t), c, "node1", "true")
	require.NoError(t, err)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "Close twice")
	assert.False(t, nd.Running())
	assert.Error(t, nd.Start(), "starting a node of a closed cluster")
	assert.NoDirExists(t, c.Dir())
}

func runOut(cl *ssh.Client, cmd string) (string, error) {
	s, err := cl.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.Output(cmd)
	return string(out), err
}

func TestFreezeThaw(t *testing.T) {
	c := StartCluster(t, 1, nil)
	nd := c.Node(1)
	cl := goClient(t, c, nd.Addr())
	s, err := cl.NewSession()
	require.NoError(t, err)
	defer s.Close()
	stdin, err := s.StdinPipe()
	require.NoError(t, err)
	var out syncBuffer
	s.Stdout = &out
	require.NoError(t, s.Start("while read l; do echo got $l; done"))
	_, err = stdin.Write([]byte("a\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return out.String() == "got a\n" }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, nd.Freeze())
	assert.True(t, nd.Frozen())
	pids, err := nd.Processes("")
	require.NoError(t, err)
	require.NotEmpty(t, pids)
	for _, pid := range pids {
		_, state, ok := readStat(pid)
		require.True(t, ok)
		assert.Equal(t, byte('T'), state, "pid %d stopped", pid)
	}
	// An open session goes silent; a new connection gets no banner.
	_, err = stdin.Write([]byte("b\n"))
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", nd.Addr(), time.Second)
	require.NoError(t, err, "the kernel still accepts into the backlog")
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	n, err := conn.Read(make([]byte, 64))
	assert.Zero(t, n)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "no banner from a frozen node")
	assert.Equal(t, "got a\n", out.String())

	require.NoError(t, nd.Thaw())
	assert.False(t, nd.Frozen())
	require.Eventually(t, func() bool { return out.String() == "got a\ngot b\n" }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	banner := make([]byte, 8)
	_, err = conn.Read(banner)
	require.NoError(t, err)
	assert.Equal(t, "SSH-2.0-", string(banner))
	conn.Close()
	require.NoError(t, stdin.Close())
	require.NoError(t, s.Wait())
}

func TestProcessesSurviveReparenting(t *testing.T) {
	c := StartCluster(t, 2, nil)
	cl := goClient(t, c, c.Node(1).Addr())
	// A background job whose session ends: it is re-parented away from
	// sshd but still belongs to node1, not node2.
	_, err := runOut(cl, "nohup sleep 33 >/dev/null 2>&1 </dev/null &")
	require.NoError(t, err)
	pids := waitProcs(t, c.Node(1), "sleep 33", 1)
	other, err := c.Node(2).Processes("sleep 33")
	require.NoError(t, err)
	assert.Empty(t, other)
	ppid, _, ok := readStat(pids[0])
	require.True(t, ok)
	assert.NotEqual(t, c.Node(1).Pid(), ppid)
	require.NoError(t, c.Node(1).Kill())
	waitProcs(t, c.Node(1), "sleep 33", 0)
}

func TestOptionsConfig(t *testing.T) {
	c := StartCluster(t, 1, &Options{MaxSessions: 3, MaxStartups: "5:50:20", LogLevel: "ERROR", Shell: "/bin/sh"})
	cfg, err := os.ReadFile(c.Node(1).ConfigFile())
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "\nMaxSessions 3\n")
	assert.Contains(t, string(cfg), "\nMaxStartups 5:50:20\n")
	assert.Contains(t, string(cfg), "\nLogLevel ERROR\n")
	cl := goClient(t, c, c.Node(1).Addr())
	// MaxSessions 3: the fourth session on one connection is refused.
	var sess []*ssh.Session
	for i := 0; i < 3; i++ {
		s, err := cl.NewSession()
		require.NoError(t, err, "session %d", i)
		sess = append(sess, s)
	}
	_, err = cl.NewSession()
	require.Error(t, err)
	for _, s := range sess {
		s.Close()
	}
	out, err := runOut(goClient(t, c, c.Node(1).Addr()), `echo "$SHELL"`)
	require.NoError(t, err)
	assert.Equal(t, "/bin/sh\n", out)
}

func TestSSHConfigAndAlias(t *testing.T) {
	needClient(t, "ssh")
	c := StartCluster(t, 2, nil)
	cfg, err := os.ReadFile(c.ConfigFile())
	require.NoError(t, err)
	for _, nd := range c.Nodes() {
		assert.Contains(t, string(cfg), fmt.Sprintf("Host %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n", nd.Name(), nd.Port(), c.User()))
	}
	assert.Contains(t, string(cfg), "IdentityFile "+c.IdentityFile()+"\n")
	assert.Contains(t, string(cfg), "UserKnownHostsFile "+c.KnownHostsFile()+"\n")
	fi, err := os.Stat(c.IdentityFile())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	p := NewProxy(t, c.Node(2).Addr())
	require.NoError(t, c.AddAlias("via", p.Addr(), c.Node(2)))
	require.Error(t, c.AddAlias("via", p.Addr(), c.Node(2)), "duplicate alias")
	require.Error(t, c.AddAlias("bad name", p.Addr(), c.Node(2)))
	out, err := sshCmd(testCtx(t), c, "via", "pwd")
	require.NoError(t, err)
	assert.Equal(t, c.Node(2).Home()+"\n", out)
	assert.Equal(t, 1, p.Accepted())
	goClient(t, c, p.Addr()) // known_hosts has the proxy address too

	// A wrong key for a node is refused by strict checking.
	c2 := StartCluster(t, 1, nil)
	cfg2, err := c2.ClientConfig()
	require.NoError(t, err)
	_, err = ssh.Dial("tcp", c.Node(1).Addr(), cfg2)
	require.Error(t, err)
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		n    int
		opts *Options
		is   error
	}{
		{name: "no nodes", n: 0},
		{name: "missing sshd", n: 1, opts: &Options{Sshd: "/nonexistent/sshd"}, is: ErrNoSshd},
		{name: "relative sshd", n: 1, opts: &Options{Sshd: "sshd"}},
		{name: "bad key type", n: 1, opts: &Options{HostKeyTypes: []string{"dsa"}}},
		{name: "relative shell", n: 1, opts: &Options{Shell: "sh"}},
		{name: "missing nss_wrapper", n: 1, opts: &Options{Home: HomeNSSWrapper, NSSWrapper: "/nonexistent.so"}, is: ErrNoNSSWrapper},
		{name: "bad config line", n: 1, opts: &Options{ExtraConfig: []string{"NoSuchOption yes"}}},
		{name: "stock with MaxSessions", n: 1, opts: &Options{Stock: true, MaxSessions: 64}},
		{name: "stock with MaxStartups", n: 1, opts: &Options{Stock: true, MaxStartups: "200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts == nil || tt.opts.Sshd == "" {
				if _, err := findSshd(""); err != nil {
					t.Skip(err)
				}
			}
			dir := t.TempDir()
			c, err := Start(dir, tt.n, tt.opts)
			require.Error(t, err)
			assert.Nil(t, c)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, left, "a failed Start removes its directory")
		})
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recordTB records Skipf and Fatalf instead of ending the test.
type recordTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordTB) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recordTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestStartClusterWithoutSshd(t *testing.T) {
	tests := []struct {
		require   string
		wantSkip  bool
		wantFatal bool
	}{
		{require: "", wantSkip: true},
		{require: "0", wantSkip: true},
		{require: "1", wantFatal: true},
	}
	for _, tt := range tests {
		t.Run("DPROC_REQUIRE_SSHD="+tt.require, func(t *testing.T) {
			t.Setenv("DPROC_REQUIRE_SSHD", tt.require)
			r := &recordTB{TB: t}
			c := StartCluster(r, 1, &Options{Sshd: "/nonexistent/sbin/sshd"})
			assert.Nil(t, c)
			assert.Equal(t, tt.wantSkip, r.skipped != "", "skipped: %q", r.skipped)
			assert.Equal(t, tt.wantFatal, r.fatal != "", "fatal: %q", r.fatal)
			assert.Contains(t, r.skipped+r.fatal, "sshd not found")
		})
	}
}

func TestStartRetriesBusyPort(t *testing.T) {
	c := StartCluster(t, 1, nil)
	nd := c.Node(1)
	require.NoError(t, nd.Kill())
	ln, err := net.Listen("tcp", nd.Addr())
	require.NoError(t, err, "the killed node's port is free")
	errc := make(chan error, 1)
	go func() { errc <- nd.Start() }()
	time.Sleep(300 * time.Millisecond) // let Start meet the busy port
	require.NoError(t, ln.Close())
	require.NoError(t, <-errc)
	assert.Contains(t, nd.LogTail(1<<16), "Address already in use")
	_, err = runOut(goClient(t, c, nd.Addr()), "true")
	require.NoError(t, err)
}
