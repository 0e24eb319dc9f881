package sshtest

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Cluster is a set of sshd nodes that share one client key, one ssh_config
// and one known_hosts file. Its methods are safe for concurrent use.
type Cluster struct {
	dir      string
	removeOK bool // Close removes dir
	opts     Options
	mode     HomeMode
	user     *user.User
	shell    string
	sshd     string
	sftp     string
	nssLib   string
	token    string // unique per cluster, part of each node's marker
	penalty  bool   // sshd understands PerSourcePenalties
	idFile   string
	signer   ssh.Signer
	cred     *syscall.Credential // run sshd as another user; nil: as we are
	nodes    []*Node

	mu      sync.Mutex // guards the fields below and the two files
	aliases []alias
	closed  bool
}

// alias is one "Host" entry of the generated ssh_config.
type alias struct {
	name string
	addr string // host:port to dial
	node *Node
}

// StartCluster starts n sshd nodes for the test or benchmark tb, in a
// directory under tb.TempDir(), and stops them in tb.Cleanup.
//
// When sshd (or /proc) is not available it calls tb.Skip with the reason,
// unless the environment variable DPROC_REQUIRE_SSHD is "1", in which case it
// calls tb.Fatal. Any other failure calls tb.Fatal. When the test has failed,
// the cleanup logs the tail of each node's sshd log.
func StartCluster(tb testing.TB, n int, opts *Options) *Cluster {
	tb.Helper()
	dir := tb.TempDir()
	if opts != nil && opts.User != "" && os.Geteuid() == 0 {
		// Let the node user reach its directories under the test's
		// private temporary directory.
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if err := os.Chmod(d, 0o711); err != nil {
				tb.Fatalf("sshtest.StartCluster: %v", err)
			}
		}
	}
	c, err := Start(dir, n, opts)
	if err != nil {
		if (errors.Is(err, ErrNoSshd) || errors.Is(err, ErrUnsupported)) && os.Getenv("DPROC_REQUIRE_SSHD") != "1" {
			tb.Skipf("%v (set DPROC_REQUIRE_SSHD=1 to fail instead)", err)
			return nil
		}
		tb.Fatalf("sshtest.StartCluster: %v", err)
		return nil
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			for _, nd := range c.nodes {
				tb.Logf("sshd log of %s (%s):\n%s", nd.name, nd.logFile, nd.LogTail(4096))
			}
		}
		if err := c.Close(); err != nil {
			tb.Errorf("sshtest: closing cluster: %v", err)
		}
	})
	return c
}

// Start starts n sshd nodes in a new directory created under dir (os.TempDir
// when dir is ""). It returns [ErrNoSshd] or [ErrUnsupported] (wrapped) when
// the machine cannot run them. The caller must call [Cluster.Close], which
// stops the nodes and removes the directory.
func Start(dir string, n int, opts *Options) (c *Cluster, err error) {
	if n < 1 {
		return nil, fmt.Errorf("sshtest: need at least one node, got %d", n)
	}
	if runtime.GOOS != "linux" || !procSupported() {
		return nil, fmt.Errorf("%w: need Linux with /proc, have %s", ErrUnsupported, runtime.GOOS)
	}
	o := opts.withDefaults()
	if o.Stock && (o.MaxSessions != 0 || o.MaxStartups != "") {
		return nil, errors.New("sshtest: Options.Stock excludes MaxSessions and MaxStartups")
	}
	sshd, err := findSshd(o.Sshd)
	if err != nil {
		return nil, err
	}
	sftp, err := findSftpServer(o.SftpServer)
	if err != nil {
		return nil, err
	}
	u, cred, err := loginUser(o.User)
	if err != nil {
		return nil, err
	}
	mode := o.Home
	nssLib := ""
	switch mode {
	case HomeAuto, HomeNSSWrapper:
		nssLib = findNSSWrapper(o.NSSWrapper)
		switch {
		case nssLib != "":
			mode = HomeNSSWrapper
		case mode == HomeNSSWrapper:
			return nil, ErrNoNSSWrapper
		default:
			mode = HomeForceCommand
		}
	case HomeForceCommand:
	default:
		return nil, fmt.Errorf("sshtest: unknown HomeMode %d", int(mode))
	}
	shell := o.Shell
	if shell == "" {
		shell = loginShell(u)
		if mode == HomeNSSWrapper && noLogin(shell) {
			shell = "/bin/sh" // a system account such as nobody
		}
	}
	if !filepath.IsAbs(shell) {
		return nil, fmt.Errorf("sshtest: Shell %q is not an absolute path", shell)
	}
	if mode == HomeForceCommand && noLogin(loginShell(u)) {
		// sshd runs the ForceCommand script through the passwd shell.
		return nil, fmt.Errorf("sshtest: HomeForceCommand needs a login shell, but %s has %s (install libnss-wrapper)", u.Username, loginShell(u))
	}

	base, err := os.MkdirTemp(dir, "sshtest-")
	if err != nil {
		return nil, err
	}
	if base, err = filepath.Abs(base); err != nil {
		return nil, err
	}
	c = &Cluster{
		dir: base, removeOK: true, opts: o, mode: mode, user: u, shell: shell,
		sshd: sshd, sftp: sftp, nssLib: nssLib, token: randomToken(), cred: cred,
	}
	created := c
	defer func() {
		if err != nil {
			_ = created.Close()
		}
	}()
	if err := checkPath(base); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := checkSearchable(base, cred.Uid); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 && cred == nil {
		// sshd running as root insists on its privilege separation
		// directory; Debian normally creates it at boot.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("sshtest: creating /run/sshd: %w", err)
		}
	}

	// The cluster's client key.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	c.idFile = filepath.Join(base, "id_ed25519")
	pub, err := writeKey(c.idFile, priv, "sshtest-client")
	if err != nil {
		return nil, err
	}
	if c.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.authorizedKeysFile(), ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		return nil, err
	}

	for i := 1; i <= n; i++ {
		nd, err := c.newNode(i)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
		c.aliases = append(c.aliases, alias{name: nd.name, node: nd})
	}
	if cred != nil {
		if err := c.chownNodes(); err != nil {
			return nil, err
		}
	}
	c.penalty = probePenalties(sshd, c.nodes[0].cfgFile)
	for _, nd := range c.nodes {
		if err := nd.firstStart(); err != nil {
			return nil, err
		}
	}
	for i, nd := range c.nodes {
		c.aliases[i].addr = nd.Addr()
	}
	if err := c.writeClientFiles(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close kills every node (sshd and all session processes) and removes the
// cluster directory if [Start] created it. It is safe to call more than once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	var errs []error
	for _, nd := range c.nodes {
		if err := nd.Kill(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", nd.name, err))
		}
	}
	if c.removeOK {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Nodes returns the nodes, node1 first.
func (c *Cluster) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Node returns the node with the given 1-based index (Node(1) is "node1").
// It panics if i is out of range.
func (c *Cluster) Node(i int) *Node { return c.nodes[i-1] }

// Hosts returns the ssh_config aliases of the nodes: "node1" … "nodeN".
func (c *Cluster) Hosts() []string {
	hs := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		hs[i] = nd.name
	}
	return hs
}

// Dir returns the cluster's directory.
func (c *Cluster) Dir() string { return c.dir }

// User returns the login name every node accepts.
func (c *Cluster) User() string { return c.user.Username }

// HomeMode returns the home directory mechanism in use (never HomeAuto).
func (c *Cluster) HomeMode() HomeMode { return c.mode }

// SignalsWork reports whether sshd delivers ssh "signal" requests
// (ssh.Session.Signal) to commands on these nodes. It is false under
// [HomeForceCommand], where sshd refuses to signal forced commands, and when
// the login user is root: sshd then skips post-authentication privilege
// separation and refuses signals ("session signalling requires privilege
// separation", OpenSSH 9.2). Set [Options.User] to a non-root user to test
// signals as root.
func (c *Cluster) SignalsWork() bool { return c.mode != HomeForceCommand && c.user.Uid != "0" }

// Shell returns the login shell that runs commands on the nodes.
func (c *Cluster) Shell() string { return c.shell }

// ConfigFile returns the path of the generated ssh_config, usable as
// "ssh -F path node1" and by an ssh_config parser.
func (c *Cluster) ConfigFile() string { return filepath.Join(c.dir, "ssh_config") }

// KnownHostsFile returns the path of the known_hosts file that lists every
// host key of every node as "[127.0.0.1]:port".
func (c *Cluster) KnownHostsFile() string { return filepath.Join(c.dir, "known_hosts") }

// IdentityFile returns the path of the client's private key (OpenSSH
// format, mode 0600; the public key is next to it with ".pub" appended).
func (c *Cluster) IdentityFile() string { return c.idFile }

// Signer returns the client's private key as an ssh.Signer.
func (c *Cluster) Signer() ssh.Signer { return c.signer }

// HostKeyCallback returns a strict callback that checks host keys against
// [Cluster.KnownHostsFile] as it is now; call it again after [Cluster.AddAlias].
func (c *Cluster) HostKeyCallback() (ssh.HostKeyCallback, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return knownhosts.New(c.KnownHostsFile())
}

// ClientConfig returns an x/crypto/ssh client configuration for the
// cluster's user, key and known_hosts.
func (c *Cluster) ClientConfig() (*ssh.ClientConfig, error) {
	cb, err := c.HostKeyCallback()
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{
		User:            c.User(),
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(c.signer)},
		HostKeyCallback: cb,
	}, nil
}

// AddAlias adds a Host entry to the ssh_config that reaches node nd at addr
// ("127.0.0.1:port", typically a [Proxy] in front of the node), and adds
// nd's host keys for addr to known_hosts, so that both OpenSSH and a
// known_hosts check accept the connection. It fails if name is already used.
func (c *Cluster) AddAlias(name, addr string, nd *Node) error {
	if name == "" || strings.ContainsAny(name, " \t\n*?!,\"'#") {
		return fmt.Errorf("sshtest: invalid alias %q", name)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("sshtest: alias %s: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.aliases {
		if a.name == name {
			return fmt.Errorf("sshtest: alias %q already exists", name)
		}
	}
	c.aliases = append(c.aliases, alias{name: name, addr: addr, node: nd})
	return c.writeClientFilesLocked()
}

func (c *Cluster) authorizedKeysFile() string { return filepath.Join(c.dir, "authorized_keys") }

func (c *Cluster) writeClientFiles() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeClientFilesLocked()
}

// writeClientFilesLocked rewrites ssh_config and known_hosts from c.aliases.
func (c *Cluster) writeClientFilesLocked() error {
	var cfg, kh strings.Builder
	cfg.WriteString("# Generated by dproc internal/sshtest.\n")
	seen := make(map[string]bool)
	for _, a := range c.aliases {
		host, port, _ := net.SplitHostPort(a.addr)
		fmt.Fprintf(&cfg, "\nHost %s\n", a.name)
		fmt.Fprintf(&cfg, "  HostName %s\n  Port %s\n  User %s\n", host, port, c.user.Username)
		fmt.Fprintf(&cfg, "  IdentityFile %s\n  IdentitiesOnly yes\n", c.idFile)
		fmt.Fprintf(&cfg, "  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n", c.KnownHostsFile())
		cfg.WriteString("  BatchMode yes\n")
		key := knownhosts.Normalize(a.addr)
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, hk := range a.node.hostKeys {
			kh.WriteString(knownhosts.Line([]string{key}, hk) + "\n")
		}
	}
	if err := writeFileAtomic(c.KnownHostsFile(), []byte(kh.String()), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(c.ConfigFile(), []byte(cfg.String()), 0o600)
}

// writeFileAtomic replaces path with data through a rename, so a reader
// never sees a half-written file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// checkPath rejects paths that sshd_config or ssh_config would split or
// expand.
func checkPath(p string) error {
	if strings.ContainsAny(p, " \t\n\"'\\%#$`") {
		return fmt.Errorf("sshtest: directory %q contains characters sshd_config cannot take (set TMPDIR to a plain path)", p)
	}
	return nil
}

func findSshd(p string) (string, error) {
	if p != "" {
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("sshtest: Sshd %q is not an absolute path", p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoSshd, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err == nil {
		return "/usr/sbin/sshd", nil
	}
	p, err := exec.LookPath("sshd")
	if err != nil {
		return "", fmt.Errorf("%w (install openssh-server): %v", ErrNoSshd, err)
	}
	return filepath.Abs(p) // sshd refuses to run from a relative path
}

func findSftpServer(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	for _, p := range []string{
		"/usr/lib/openssh/sftp-server",
		"/usr/libexec/openssh/sftp-server",
		"/usr/libexec/sftp-server",
		"/usr/lib/ssh/sftp-server",
	} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: sftp-server not found", ErrNoSshd)
}

func findNSSWrapper(p string) string {
	if p == "" {
		p = os.Getenv("DPROC_NSS_WRAPPER")
	}
	if p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	for _, pat := range []string{
		"/usr/lib/*-linux-gnu*/libnss_wrapper.so",
		"/usr/lib64/libnss_wrapper.so",
		"/usr/lib/libnss_wrapper.so",
		"/usr/local/lib/libnss_wrapper.so",
	} {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

// loginUser resolves Options.User. cred is non-nil when sshd must switch
// to that user, which only root can do.
func loginUser(name string) (*user.User, *syscall.Credential, error) {
	cur, err := user.Current()
	if err != nil {
		return nil, nil, fmt.Errorf("sshtest: current user: %w", err)
	}
	if name == "" || name == cur.Username {
		return cur, nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, nil, fmt.Errorf("sshtest: Options.User: %w", err)
	}
	if u.Uid == cur.Uid {
		return u, nil, nil
	}
	if os.Geteuid() != 0 {
		return nil, nil, fmt.Errorf("sshtest: Options.User %q: only root can run sshd as another user", name)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, fmt.Errorf("sshtest: Options.User %q: %w", name, err)
	}
	return u, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// checkSearchable fails unless every ancestor of dir can be searched by uid.
func checkSearchable(dir string, uid uint32) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && fi.Mode().Perm()&0o001 == 0 && st.Uid != uid {
			return fmt.Errorf("sshtest: %s is not searchable by uid %d (Options.User); chmod o+x it", d, uid)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// chownNodes gives the cluster directory's node parts to the login user,
// for an sshd that runs as that user.
func (c *Cluster) chownNodes() error {
	uid, gid := int(c.cred.Uid), int(c.cred.Gid)
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	if err := os.Chown(c.authorizedKeysFile(), uid, gid); err != nil {
		return err
	}
	for _, nd := range c.nodes {
		err := filepath.WalkDir(nd.dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// noLogin reports whether shell is a "no login" placeholder.
func noLogin(shell string) bool {
	return strings.HasSuffix(shell, "/nologin") || strings.HasSuffix(shell, "/false")
}

// loginShell returns u's login shell from /etc/passwd, or /bin/sh.
func loginShell(u *user.User) string {
	f, err := os.Open("/etc/passwd")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Split(sc.Text(), ":")
			if len(fs) == 7 && fs[0] == u.Username && fs[6] != "" {
				return fs[6]
			}
		}
	}
	return "/bin/sh"
}

// probePenalties reports whether sshd accepts PerSourcePenalties (OpenSSH
// 9.8 and later), which must be turned off or many quick test connections
// get a source address banned.
func probePenalties(sshd, cfg string) bool {
	return exec.Command(sshd, "-t", "-f", cfg, "-o", "PerSourcePenalties=no").Run() == nil
}

func randomToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
