package sshtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// errPortInUse means sshd could not bind its port.
var errPortInUse = errors.New("sshtest: port in use")

// Node is one sshd process with its own port, host keys and home directory.
// Its methods are safe for concurrent use.
type Node struct {
	c         *Cluster
	name      string
	dir       string
	home      string
	cfgFile   string
	logFile   string
	wrapper   string // ForceCommand script (HomeForceCommand only)
	hostKeys  []ssh.PublicKey
	keyFiles  []string
	hostCerts []*ssh.Certificate
	certFiles []string
	marker    string // NAME=value environment entry of every process of the node

	mu     sync.Mutex
	port   int
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	frozen bool
}

// newNode creates node index i's directory, home, host keys and files.
func (c *Cluster) newNode(i int) (*Node, error) {
	name := "node" + itoa(i)
	nd := &Node{
		c:      c,
		name:   name,
		dir:    filepath.Join(c.dir, name),
		marker: markerVar + "=" + c.token + "-" + name,
	}
	nd.home = filepath.Join(nd.dir, "home")
	nd.cfgFile = filepath.Join(nd.dir, "sshd_config")
	nd.logFile = filepath.Join(nd.dir, "sshd.log")
	if err := os.MkdirAll(nd.home, 0o755); err != nil {
		return nil, err
	}
	for _, typ := range c.opts.HostKeyTypes {
		key, err := newKey(typ)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(nd.dir, "ssh_host_"+typ+"_key")
		pub, err := writeKey(path, key, name)
		if err != nil {
			return nil, err
		}
		nd.hostKeys = append(nd.hostKeys, pub)
		nd.keyFiles = append(nd.keyFiles, path)
		if c.opts.HostCertificate == nil {
			continue
		}
		cert, err := c.opts.HostCertificate(name, pub)
		if err != nil {
			return nil, fmt.Errorf("sshtest: host certificate for %s's %s key: %w", name, typ, err)
		}
		if cert == nil {
			continue
		}
		certFile := path + "-cert.pub"
		if err := os.WriteFile(certFile, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
			return nil, err
		}
		nd.hostCerts = append(nd.hostCerts, cert)
		nd.certFiles = append(nd.certFiles, certFile)
	}
	switch c.mode {
	case HomeNSSWrapper:
		if err := nd.writeNSSFiles(); err != nil {
			return nil, err
		}
	case HomeForceCommand:
		nd.wrapper = filepath.Join(nd.dir, "session.sh")
		if err := os.WriteFile(nd.wrapper, []byte(nd.wrapperScript()), 0o755); err != nil {
			return nil, err
		}
	}
	// A first configuration, so that Start can probe sshd's options.
	if err := nd.writeConfig(22, false); err != nil {
		return nil, err
	}
	return nd, nil
}

// Name returns the node's ssh_config alias, "node1" … "nodeN".
func (n *Node) Name() string { return n.name }

// Dir returns the node's private directory (configuration, host keys, log).
func (n *Node) Dir() string { return n.dir }

// Home returns the node's home directory: sessions start there, HOME names
// it, and relative SFTP paths resolve against it.
func (n *Node) Home() string { return n.home }

// LogFile returns the path of the file that collects sshd's log (its
// stderr) across restarts.
func (n *Node) LogFile() string { return n.logFile }

// ConfigFile returns the path of the node's sshd_config.
func (n *Node) ConfigFile() string { return n.cfgFile }

// HostKeys returns the node's public host keys, in Options.HostKeyTypes
// order.
func (n *Node) HostKeys() []ssh.PublicKey { return slices.Clone(n.hostKeys) }

// HostCertificates returns the host certificates the node presents (see
// Options.HostCertificate), in host key order.
func (n *Node) HostCertificates() []*ssh.Certificate { return slices.Clone(n.hostCerts) }

// Port returns the node's TCP port on 127.0.0.1; it stays the same across
// restarts.
func (n *Node) Port() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.port
}

// Addr returns "127.0.0.1:port".
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", itoa(n.Port())) }

// Pid returns the process id of the listening sshd, or 0 when it is not
// running.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.runningLocked() {
		return 0
	}
	return n.cmd.Process.Pid
}

// Running reports whether the listening sshd is running (frozen counts as
// running).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runningLocked()
}

func (n *Node) runningLocked() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Start starts the node's sshd again after [Node.Stop] or [Node.Kill], on
// the same port with the same host keys. It retries for a few seconds if
// the port is briefly taken. Starting a running node is an error.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.runningLocked() {
		return fmt.Errorf("sshtest: %s is already running", n.name)
	}
	n.c.mu.Lock()
	closed := n.c.closed
	n.c.mu.Unlock()
	if closed {
		return fmt.Errorf("sshtest: %s: cluster is closed", n.name)
	}
	var err error
	for try := 0; try < 40; try++ {
		if err = n.startLocked(n.port); !errors.Is(err, errPortInUse) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Restart kills the node (as [Node.Kill]: sshd and every session die at once,
// like a host that reboots) and starts it again on the same port with the
// same host keys.
func (n *Node) Restart() error {
	if err := n.Kill(); err != nil {
		return err
	}
	return n.Start()
}

// firstStart starts sshd on a free port, trying other ports when another
// process takes the chosen one first.
func (n *Node) firstStart() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var err error
	for try := 0; try < 10; try++ {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = n.startLocked(port); !errors.Is(err, errPortInUse) {
			return err
		}
	}
	return err
}

// startLocked writes the configuration for port, starts sshd and waits until
// it listens.
func (n *Node) startLocked(port int) error {
	c := n.c
	if err := n.writeConfig(port, c.penalty); err != nil {
		return err
	}
	logf, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	fi, err := logf.Stat()
	if err != nil {
		return err
	}
	offset := fi.Size()
	fmt.Fprintf(logf, "--- sshtest: starting %s on port %d at %s\n", n.name, port, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.sshd, "-D", "-e", "-f", n.cfgFile)
	cmd.Dir = n.dir
	cmd.Env = n.sshdEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(c.cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sshtest: starting %s: %w", c.sshd, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	n.port, n.cmd, n.done, n.frozen = port, cmd, done, false

	want := []byte(fmt.Sprintf("Server listening on 127.0.0.1 port %d", port))
	quiet := slices.Contains([]string{"QUIET", "FATAL", "ERROR"}, strings.ToUpper(c.opts.LogLevel))
	deadline := time.NewTimer(c.opts.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			log := n.readLogFrom(offset)
			if bytes.Contains(log, []byte("Address already in use")) {
				return errPortInUse
			}
			return fmt.Errorf("sshtest: sshd for %s exited at start (%v):\n%s", n.name, cmd.ProcessState, log)
		case <-deadline.C:
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("sshtest: sshd for %s not listening after %v:\n%s", n.name, c.opts.StartTimeout, n.readLogFrom(offset))
		case <-tick.C:
			if quiet {
				if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", itoa(port)), time.Second); err == nil {
					conn.Close()
					return nil
				}
			} else if bytes.Contains(n.readLogFrom(offset), want) {
				return nil
			}
		}
	}
}

// sshdEnv is the environment of the node's sshd: ours, plus the node
// marker, plus nss_wrapper's variables under HomeNSSWrapper. sshd builds a
// fresh environment for each session, so none of these reach the commands,
// except the marker, which the SetEnv line of sshd_config passes on.
func (n *Node) sshdEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); {
		case k == markerVar, k == "LD_PRELOAD", strings.HasPrefix(k, "NSS_WRAPPER_"):
			continue
		}
		env = append(env, kv)
	}
	env = append(env, n.marker)
	if n.c.mode == HomeNSSWrapper {
		env = append(env,
			"LD_PRELOAD="+n.c.nssLib,
			"NSS_WRAPPER_PASSWD="+filepath.Join(n.dir, "passwd"),
			"NSS_WRAPPER_GROUP="+filepath.Join(n.dir, "group"),
		)
	}
	return env
}

func (n *Node) readLogFrom(offset int64) []byte {
	f, err := os.Open(n.logFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return b
}

// LogTail returns at most the last max bytes of the node's sshd log.
func (n *Node) LogTail(max int) string {
	fi, err := os.Stat(n.logFile)
	if err != nil {
		return ""
	}
	off := fi.Size() - int64(max)
	if off < 0 {
		off = 0
	}
	return string(n.readLogFrom(off))
}

// Kill sends SIGKILL to the node's sshd and every session process of the
// node (stopped ones included) and waits until they are gone. Connections to
// the node drop without notice. Killing a stopped node is not an error.
func (n *Node) Kill() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Stop every process first, then kill them all: a machine that dies
	// sends nothing more, so no sshd may report its command's death as an
	// exit status. Listing the processes while the listener is alive also
	// finds the per-connection sshd processes, which carry no marker.
	pids, err := n.stopAllLocked()
	if err == nil {
		list := make([]int, 0, len(pids))
		for pid := range pids {
			list = append(list, pid)
		}
		err = signalAll(list, syscall.SIGKILL)
	}
	if !n.waitGoneLocked(15*time.Second, pids) {
		err = errors.Join(err, fmt.Errorf("sshtest: %s: processes still alive 15s after SIGKILL", n.name))
	}
	n.frozen = false
	return err
}

// Stop stops the node politely: SIGTERM (then SIGCONT, in case it is frozen)
// to sshd and every session process, then SIGKILL to whatever is left after
// two seconds. Stopping a stopped node is not an error.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	pids, err := n.stopAllLocked()
	list := make([]int, 0, len(pids))
	for pid := range pids {
		list = append(list, pid)
	}
	err = errors.Join(err, signalAll(list, syscall.SIGTERM), signalAll(list, syscall.SIGCONT))
	if !n.waitGoneLocked(2*time.Second, pids) {
		err = errors.Join(err, signalAll(list, syscall.SIGKILL), n.signalNodeLocked(syscall.SIGKILL))
		n.waitGoneLocked(5*time.Second, pids)
	}
	n.frozen = false
	return err
}

// Freeze sends SIGSTOP to the node's sshd and to every session process, so
// the node stops answering: new connections hang in the kernel's backlog,
// open ones go silent, running commands pause. [Node.Thaw] undoes it.
func (n *Node) Freeze() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.runningLocked() {
		return fmt.Errorf("sshtest: %s is not running", n.name)
	}
	if _, err := n.stopAllLocked(); err != nil {
		return err
	}
	n.frozen = true
	return nil
}

// stopAllLocked sends SIGSTOP to the node's listener, then to every process
// of the node (its descendants, found while it is alive, and the processes
// that carry the node's marker), sweeping until a pass finds none that was
// not already stopped, and waits until all show the stopped state. It
// returns their pids. A stopped node does nothing more: no new session, no
// exit status sent for a command that dies.
func (n *Node) stopAllLocked() (map[int]bool, error) {
	root := 0
	stopped := map[int]bool{}
	if n.runningLocked() {
		root = n.cmd.Process.Pid
		if err := syscall.Kill(root, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			return nil, err
		}
		stopped[root] = true
	}
	for pass := 0; pass < 50; pass++ {
		ps, err := listProcs(n.marker, root)
		if err != nil {
			return nil, err
		}
		var fresh []int
		for _, p := range ps {
			if !stopped[p.pid] {
				fresh = append(fresh, p.pid)
				stopped[p.pid] = true
			}
		}
		if len(fresh) == 0 {
			break
		}
		if err := signalAll(fresh, syscall.SIGSTOP); err != nil {
			return nil, err
		}
	}
	// SIGSTOP takes effect asynchronously: wait until every process shows
	// the stopped state. A process in uninterruptible sleep ('D', inside a
	// system call, e.g. waiting for a busy disk) stops the moment it
	// leaves the kernel and runs no code of its own before that, so it
	// counts as stopped.
	deadline := time.Now().Add(10 * time.Second)
	for pid := range stopped {
		for {
			_, state, ok := readStat(pid)
			if !ok || state == 'T' || state == 't' || state == 'D' || state == 'Z' || state == 'X' {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("sshtest: %s: pid %d did not stop (state %c)", n.name, pid, state)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return stopped, nil
}

// Thaw sends SIGCONT to every process of the node, undoing [Node.Freeze].
// Thawing a node that is not frozen does no harm.
func (n *Node) Thaw() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.frozen = false
	return n.signalNodeLocked(syscall.SIGCONT)
}

// Frozen reports whether the node is frozen by [Node.Freeze].
func (n *Node) Frozen() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.frozen
}

// Processes returns, sorted, the process ids of the node's live processes
// whose command line (arguments joined by spaces) contains pattern; the
// empty pattern matches every process of the node, sshd included. Zombies
// are not listed. A session process belongs to the node even after it was
// re-parented to init, because it carries the node's environment marker
// (unless it cleared its environment).
func (n *Node) Processes(pattern string) ([]int, error) {
	n.mu.Lock()
	root := 0
	if n.runningLocked() {
		root = n.cmd.Process.Pid
	}
	n.mu.Unlock()
	ps, err := listProcs(n.marker, root)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range ps {
		if strings.Contains(p.cmdline, pattern) {
			pids = append(pids, p.pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// signalNodeLocked sends sig to the listener and every process of the node.
func (n *Node) signalNodeLocked(sig syscall.Signal) error {
	root := 0
	var errs []error
	if n.runningLocked() {
		root = n.cmd.Process.Pid
		if err := syscall.Kill(root, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	ps, err := listProcs(n.marker, root)
	if err != nil {
		return err
	}
	pids := make([]int, 0, len(ps))
	for _, p := range ps {
		if p.pid != root {
			pids = append(pids, p.pid)
		}
	}
	errs = append(errs, signalAll(pids, sig))
	return errors.Join(errs...)
}

// waitGoneLocked waits up to d for the listener to exit and every other
// process of the node (those carrying its marker, and pids) to disappear or
// become zombies, and reports whether they did.
func (n *Node) waitGoneLocked(d time.Duration, pids map[int]bool) bool {
	deadline := time.Now().Add(d)
	if n.cmd != nil {
		select {
		case <-n.done:
		case <-time.After(d):
			return false
		}
	}
	for {
		ps, err := listProcs(n.marker, 0)
		if err != nil {
			return false
		}
		alive := len(ps) > 0
		for pid := range pids {
			if _, state, ok := readStat(pid); ok && state != 'Z' && state != 'X' {
				alive = true
			}
		}
		if !alive {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeConfig writes the node's sshd_config for port.
func (n *Node) writeConfig(port int, penalties bool) error {
	c := n.c
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("# Generated by dproc internal/sshtest for %s.", n.name)
	line("ListenAddress 127.0.0.1:%d", port)
	for _, k := range n.keyFiles {
		line("HostKey %s", k)
	}
	for _, k := range n.certFiles {
		line("HostCertificate %s", k)
	}
	line("PidFile %s", filepath.Join(n.dir, "sshd.pid"))
	line("AuthorizedKeysFile %s", c.authorizedKeysFile())
	line("StrictModes no")
	line("UsePAM no")
	line("PubkeyAuthentication yes")
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("PermitRootLogin prohibit-password")
	line("X11Forwarding no")
	line("PrintMotd no")
	line("PrintLastLog no")
	line("UseDNS no")
	line("LogLevel %s", c.opts.LogLevel)
	switch {
	case c.opts.Stock:
		line("MaxSessions %d", StockMaxSessions)
		line("MaxStartups %s", StockMaxStartups)
	default:
		if c.opts.MaxSessions > 0 {
			line("MaxSessions %d", c.opts.MaxSessions)
		}
		if c.opts.MaxStartups != "" {
			line("MaxStartups %s", c.opts.MaxStartups)
		}
	}
	if penalties {
		line("PerSourcePenalties no")
	}
	line("SetEnv %s", n.marker)
	line("Subsystem sftp %s", c.sftp)
	if c.mode == HomeForceCommand {
		line("ForceCommand %s", n.wrapper)
	}
	for _, l := range c.opts.ExtraConfig {
		line("%s", l)
	}
	return os.WriteFile(n.cfgFile, []byte(b.String()), 0o600)
}

// writeNSSFiles writes the passwd and group files nss_wrapper serves to
// sshd: the system's, with the current user's home and shell replaced.
func (n *Node) writeNSSFiles() error {
	u := n.c.user
	entry := strings.Join([]string{u.Username, "x", u.Uid, u.Gid, u.Name, n.home, n.c.shell}, ":")
	var out bytes.Buffer
	found := false
	if f, err := os.Open("/etc/passwd"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			l := sc.Text()
			if name, _, _ := strings.Cut(l, ":"); name == u.Username {
				if fs := strings.Split(l, ":"); len(fs) == 7 {
					fs[5], fs[6] = n.home, n.c.shell
					l = strings.Join(fs, ":")
				} else {
					l = entry
				}
				found = true
			}
			out.WriteString(l + "\n")
		}
		f.Close()
	}
	if !found {
		out.WriteString(entry + "\n")
	}
	if err := os.WriteFile(filepath.Join(n.dir, "passwd"), out.Bytes(), 0o644); err != nil {
		return err
	}
	group, err := os.ReadFile("/etc/group")
	if err != nil {
		group = []byte(u.Username + ":x:" + u.Gid + ":\n")
	}
	return os.WriteFile(filepath.Join(n.dir, "group"), group, 0o644)
}

// wrapperScript is the ForceCommand script of HomeForceCommand. sshd runs
// it with the login shell ("shell -c script"), with the client's command, or
// the sftp-server command line for the sftp subsystem, in
// $SSH_ORIGINAL_COMMAND.
func (n *Node) wrapperScript() string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }
	return `#!/bin/sh
# Generated by dproc internal/sshtest: runs every session of ` + n.name + ` in its home.
cd ` + q(n.home) + ` || exit 1
HOME=` + q(n.home) + `
SHELL=` + q(n.c.shell) + `
export HOME SHELL
if [ "${SSH_ORIGINAL_COMMAND+set}" != set ]; then
	exec "$SHELL" -l
fi
c=$SSH_ORIGINAL_COMMAND
unset SSH_ORIGINAL_COMMAND
exec "$SHELL" -c "$c"
`
}
