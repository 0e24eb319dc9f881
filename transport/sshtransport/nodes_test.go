package sshtransport_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// entry is one Host block of a test ssh_config.
type entry struct {
	name  string
	addr  string   // host:port
	extra []string // more lines
}

// writeConfig writes an ssh_config for cluster c with the given entries,
// checking host keys against knownHosts, and returns its path.
func writeConfig(t *testing.T, c *sshtest.Cluster, knownHosts string, entries ...entry) string {
	t.Helper()
	var b strings.Builder
	for _, e := range entries {
		host, port, err := net.SplitHostPort(e.addr)
		require.NoError(t, err)
		// The first value wins: extra lines go first.
		fmt.Fprintf(&b, "Host %s\n", e.name)
		hasID := false
		for _, l := range e.extra {
			fmt.Fprintf(&b, "  %s\n", l)
			hasID = hasID || strings.HasPrefix(l, "IdentityFile")
		}
		fmt.Fprintf(&b, "  HostName %s\n  Port %s\n  User %s\n", host, port, c.User())
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n  GlobalKnownHostsFile none\n", knownHosts)
		if !hasID {
			fmt.Fprintf(&b, "  IdentityFile %s\n  IdentitiesOnly yes\n", c.IdentityFile())
		}
	}
	p := filepath.Join(t.TempDir(), "ssh_config")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

// knownHostsLines returns the lines of the cluster's known_hosts whose key
// type is one of types (all lines when types is empty).
func knownHostsLines(t *testing.T, c *sshtest.Cluster, types ...string) string {
	t.Helper()
	b, err := os.ReadFile(c.KnownHostsFile())
	require.NoError(t, err)
	var out strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (len(types) == 0 || contains(types, f[1])) {
			out.WriteString(l + "\n")
		}
	}
	return out.String()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	return p
}

func run(ctx context.Context, tr *sshtransport.Transport, host, shell string) (string, error) {
	var out bytes.Buffer
	err := tr.Run(ctx, host, &transport.Command{Shell: shell, Stdout: &out})
	return out.String(), err
}

// waitProcess waits until node nd runs a process matching pattern.
func waitProcess(t *testing.T, nd *sshtest.Node, pattern string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ps, err := nd.Processes(pattern)
		return err == nil && len(ps) > 0
	}, 10*time.Second, 20*time.Millisecond, "no process %q on %s", pattern, nd.Name())
}

// requireNoProcess waits until node nd runs no process matching pattern.
func requireNoProcess(t *testing.T, nd *sshtest.Node, pattern string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ps, err := nd.Processes(pattern)
		return err == nil && len(ps) == 0
	}, 10*time.Second, 50*time.Millisecond, "process %q still runs on %s", pattern, nd.Name())
}

func TestHostKeys(t *testing.T) {
	c := sshtest.StartCluster(t, 1, &sshtest.Options{HostKeyTypes: []string{sshtest.KeyED25519, sshtest.KeyECDSA, sshtest.KeyRSA}})
	nd := c.Node(1)
	_, other, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	otherSigner, err := ssh.NewSignerFromKey(other)
	require.NoError(t, err)
	changed := knownhosts.Line([]string{knownhosts.Normalize(nd.Addr())}, otherSigner.PublicKey()) + "\n"

	tests := []struct {
		name       string
		knownHosts string
		extra      []string
		acceptNew  bool
		wantErr    error  // nil: connects
		wantInErr  string // with wantErr
		wantLines  int    // known_hosts lines afterwards, when > 0
	}{
		{name: "known", knownHosts: knownHostsLines(t, c)},
		{name: "only ed25519 known, server also has ecdsa and rsa", knownHosts: knownHostsLines(t, c, ssh.KeyAlgoED25519)},
		{name: "only rsa known", knownHosts: knownHostsLines(t, c, ssh.KeyAlgoRSA)},
		{name: "unknown", knownHosts: "", wantErr: sshtransport.ErrUnknownHostKey, wantInErr: "SHA256:"},
		{name: "unknown, accept-new option", knownHosts: "", acceptNew: true, wantLines: 1},
		{name: "unknown, accept-new config", knownHosts: "", extra: []string{"StrictHostKeyChecking accept-new"}, wantLines: 1},
		{name: "unknown, StrictHostKeyChecking no", knownHosts: "", extra: []string{"StrictHostKeyChecking no"}, wantLines: 1},
		{name: "changed", knownHosts: changed, wantErr: sshtransport.ErrHostKeyChanged, wantInErr: "man-in-the-middle"},
		{name: "changed, accept-new option", knownHosts: changed, acceptNew: true, wantErr: sshtransport.ErrHostKeyChanged, wantInErr: "man-in-the-middle"},
		{name: "changed, StrictHostKeyChecking no", knownHosts: changed, extra: []string{"StrictHostKeyChecking no"}, wantErr: sshtransport.ErrHostKeyChanged, wantInErr: "SHA256:"},
		{name: "revoked", knownHosts: "@revoked * " + strings.SplitN(knownHostsLines(t, c, ssh.KeyAlgoED25519), " ", 2)[1] + knownHostsLines(t, c, ssh.KeyAlgoED25519), wantErr: sshtransport.ErrHostKeyRevoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kh := writeFile(t, tc.knownHosts)
			cfg := writeConfig(t, c, kh, entry{name: "n", addr: nd.Addr(), extra: tc.extra})
			tr := newTransport(t, cfg, &sshtransport.Options{AcceptNew: tc.acceptNew})
			out, err := run(context.Background(), tr, "n", "echo ok")
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, "ok\n", out)
			} else {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), tc.wantInErr)
				assert.Contains(t, err.Error(), knownhosts.Normalize(nd.Addr()))
				assert.False(t, transport.IsLost(err), "a host key error is not lost: %v", err)
				var hk *sshtransport.HostKeyError
				require.ErrorAs(t, err, &hk)
				assert.True(t, strings.HasPrefix(hk.Fingerprint, "SHA256:"))
			}
			if tc.wantLines > 0 {
				b, err := os.ReadFile(kh)
				require.NoError(t, err)
				assert.Len(t, strings.Split(strings.TrimSpace(string(b)), "\n"), tc.wantLines)
				// The key written is trusted by a strict transport.
				tr2 := newTransport(t, writeConfig(t, c, kh, entry{name: "n", addr: nd.Addr()}), nil)
				_, err = run(context.Background(), tr2, "n", "true")
				require.NoError(t, err)
			}
			if tc.wantErr == nil {
				b, err := os.ReadFile(kh)
				require.NoError(t, err)
				if tc.wantLines == 0 {
					assert.Equal(t, tc.knownHosts, string(b), "known_hosts must not change")
				}
			}
		})
	}
}

// TestAcceptNewConcurrent dials three new hosts from many goroutines at
// once, with hashed names: each gets exactly one known_hosts line.
func TestAcceptNewConcurrent(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // the directory is created too
	var entries []entry
	for _, nd := range c.Nodes() {
		entries = append(entries, entry{name: nd.Name(), addr: nd.Addr(), extra: []string{"HashKnownHosts yes"}})
	}
	cfg := writeConfig(t, c, kh, entries...)
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		// Separate transports, so that each dials for itself.
		tr := newTransport(t, cfg, &sshtransport.Options{AcceptNew: true})
		wg.Go(func() {
			_, err := run(context.Background(), tr, c.Hosts()[i%3], "true")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	b, err := os.ReadFile(kh)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 3, "known_hosts:\n%s", b)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, "|1|"), "hashed: %q", l)
	}
	cb, err := knownhosts.New(kh)
	require.NoError(t, err)
	for _, nd := range c.Nodes() {
		remote, err := net.ResolveTCPAddr("tcp", nd.Addr())
		require.NoError(t, err)
		assert.NoError(t, cb(nd.Addr(), remote, nd.HostKeys()[0]))
	}
}

func TestCancelKillsRemoteProcess(t *testing.T) {
	for _, mode := range []sshtest.HomeMode{sshtest.HomeAuto, sshtest.HomeForceCommand} {
		t.Run(mode.String(), func(t *testing.T) {
			c := sshtest.StartCluster(t, 1, &sshtest.Options{Home: mode})
			tr := newTransport(t, c.ConfigFile(), nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := run(ctx, tr, "node1", "sleep 31337; echo finished")
				done <- err
			}()
			waitProcess(t, c.Node(1), "sleep 31337")
			cancel()
			err := <-done
			require.ErrorIs(t, err, context.Canceled)
			requireNoProcess(t, c.Node(1), "sleep 31337")
			// The connection is still good.
			out, err := run(context.Background(), tr, "node1", "echo again")
			require.NoError(t, err)
			assert.Equal(t, "again\n", out)
		})
	}
}

func TestConnectionDrop(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	proxy := sshtest.NewProxy(t, c.Node(1).Addr())
	require.NoError(t, c.AddAlias("viaproxy", proxy.Addr(), c.Node(1)))
	tr := newTransport(t, c.ConfigFile(), nil)

	done := make(chan error, 1)
	go func() {
		_, err := run(context.Background(), tr, "viaproxy", "sleep 31338; echo finished")
		done <- err
	}()
	waitProcess(t, c.Node(1), "sleep 31338")
	proxy.CutAll()
	err := <-done
	require.ErrorIs(t, err, transport.ErrLost)
	assert.True(t, transport.IsLost(err))
	var ee *transport.ExitError
	assert.False(t, errors.As(err, &ee))
	// The wrapper notices sshd is gone and kills the worker.
	requireNoProcess(t, c.Node(1), "sleep 31338")

	// The next use reconnects.
	out, err := run(context.Background(), tr, "viaproxy", "echo back")
	require.NoError(t, err)
	assert.Equal(t, "back\n", out)
	assert.Equal(t, 2, proxy.Accepted())
}

func TestKeepaliveDetectsFrozenNode(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	nd := c.Node(1)
	t.Cleanup(func() { nd.Thaw() })
	const interval, count = 200 * time.Millisecond, 3
	tr := newTransport(t, c.ConfigFile(), &sshtransport.Options{KeepaliveInterval: interval, KeepaliveCountMax: count})
	// The deadline only stops a broken test: without keepalives, a frozen
	// peer on an open TCP connection is never noticed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, tr, "node1", "sleep 31339")
		done <- err
	}()
	waitProcess(t, nd, "sleep 31339")
	require.NoError(t, nd.Freeze())
	start := time.Now()
	err := <-done
	t.Logf("frozen node detected after %v (interval %v × %d)", time.Since(start), interval, count)
	require.ErrorIs(t, err, transport.ErrLost)
	assert.NoError(t, ctx.Err(), "must be noticed by keepalives, not the deadline")
	assert.Contains(t, err.Error(), "keepalive")
	require.NoError(t, nd.Thaw())
	out, err := run(context.Background(), tr, "node1", "echo thawed")
	require.NoError(t, err)
	assert.Equal(t, "thawed\n", out)
}

func TestProxyJump(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	p1 := sshtest.NewProxy(t, c.Node(1).Addr())
	p2 := sshtest.NewProxy(t, c.Node(2).Addr())
	require.NoError(t, c.AddAlias("jump1", p1.Addr(), c.Node(1)))
	require.NoError(t, c.AddAlias("jump2", p2.Addr(), c.Node(2)))
	kh := c.KnownHostsFile()
	cfg := writeConfig(t, c, kh,
		entry{name: "jump1", addr: p1.Addr()},
		entry{name: "jump2", addr: p2.Addr()},
		entry{name: "one-hop", addr: c.Node(2).Addr(), extra: []string{"ProxyJump jump1"}},
		entry{name: "two-hops", addr: c.Node(3).Addr(), extra: []string{"ProxyJump jump1,jump2"}},
		entry{name: "uri-hop", addr: c.Node(3).Addr(), extra: []string{"ProxyJump ssh://" + c.User() + "@jump2"}},
	)
	tr := newTransport(t, cfg, nil)
	ctx := context.Background()

	out, err := run(ctx, tr, "one-hop", "echo $HOME")
	require.NoError(t, err)
	assert.Equal(t, c.Node(2).Home()+"\n", out)
	assert.Equal(t, 1, p1.Accepted())

	out, err = run(ctx, tr, "two-hops", "echo $HOME")
	require.NoError(t, err)
	assert.Equal(t, c.Node(3).Home()+"\n", out)
	assert.Equal(t, 2, p1.Accepted())
	assert.Equal(t, 1, p2.Accepted())

	out, err = run(ctx, tr, "uri-hop", "echo $HOME")
	require.NoError(t, err)
	assert.Equal(t, c.Node(3).Home()+"\n", out)
	assert.Equal(t, 2, p2.Accepted())

	// The traffic flows through the first hop: cutting it loses the
	// two-hop connection.
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, tr, "two-hops", "sleep 31341")
		done <- err
	}()
	waitProcess(t, c.Node(3), "sleep 31341")
	p1.CutAll()
	require.ErrorIs(t, <-done, transport.ErrLost)
	requireNoProcess(t, c.Node(3), "sleep 31341")

	// Each hop's host key is checked: a jump host with an unknown key
	// fails the dial with a host key error.
	cfg = writeConfig(t, c, writeFile(t, knownHostsLines(t, c)),
		entry{name: "jump1", addr: p1.Addr(), extra: []string{"UserKnownHostsFile " + writeFile(t, "")}},
		entry{name: "target", addr: c.Node(2).Addr(), extra: []string{"ProxyJump jump1"}},
	)
	tr = newTransport(t, cfg, nil)
	_, err = run(ctx, tr, "target", "true")
	require.ErrorIs(t, err, sshtransport.ErrUnknownHostKey)
	assert.Contains(t, err.Error(), "ProxyJump")
}

// TestConfigExpansion checks %h %p %r and ${HOME} on real nodes: the
// identity file is found through tokens, under a home directory set for the
// test. (A "~" in the config is the passwd entry's home, as in OpenSSH, so
// the test names $HOME explicitly.)
func TestConfigExpansion(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	home := t.TempDir()
	t.Setenv("HOME", home)
	nd := c.Node(1)
	host, port, _ := net.SplitHostPort(nd.Addr())
	keyDir := filepath.Join(home, "keys", c.User()+"@"+host+"-"+port)
	require.NoError(t, os.MkdirAll(keyDir, 0o700))
	key, err := os.ReadFile(c.IdentityFile())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(keyDir, "id"), key, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(home, "known"), []byte(knownHostsLines(t, c)), 0o600))
	cfg := filepath.Join(home, "cfg")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`Host alias
  HostName %s
  Port %s
  User %s
  IdentityFile ${HOME}/keys/%%r@%%h-%%p/id
  IdentitiesOnly yes
  UserKnownHostsFile ${HOME}/known
`, host, port, c.User())), 0o600))
	tr := newTransport(t, "~/cfg", nil)
	out, err := run(context.Background(), tr, "alias", "echo ok")
	require.NoError(t, err)
	assert.Equal(t, "ok\n", out)
}

func TestPassphrase(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	dir := t.TempDir()
	const secret = "correct horse battery staple"
	newKey := func(name string, authorize bool) string {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		blk, err := ssh.MarshalPrivateKeyWithPassphrase(priv, name, []byte(secret))
		require.NoError(t, err)
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(blk), 0o600))
		if authorize {
			s, err := ssh.NewSignerFromKey(priv)
			require.NoError(t, err)
			ak := filepath.Join(c.Dir(), "authorized_keys")
			require.FileExists(t, ak)
			f, err := os.OpenFile(ak, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.Write(ssh.MarshalAuthorizedKey(s.PublicKey()))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
		return p
	}
	refused := newKey("refused", false)
	accepted := newKey("accepted", true)
	cfg := writeConfig(t, c, c.KnownHostsFile(), entry{name: "n", addr: c.Node(1).Addr(),
		extra: []string{"IdentityFile " + refused, "IdentityFile " + accepted, "IdentitiesOnly yes"}})

	t.Run("no callback", func(t *testing.T) {
		tr := newTransport(t, cfg, nil)
		_, err := run(context.Background(), tr, "n", "true")
		require.Error(t, err)
		assert.Contains(t, err.Error(), accepted)
		assert.NotContains(t, err.Error(), refused, "the refused key needs no passphrase")
	})
	t.Run("callback", func(t *testing.T) {
		var mu sync.Mutex
		var asked []string
		tr := newTransport(t, cfg, &sshtransport.Options{
			MaxSessions: 2, // one command per connection: the runs below dial twice
			Passphrase: func(file string) ([]byte, error) {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, file)
				return []byte(secret), nil
			},
		})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				_, err := run(context.Background(), tr, "n", "sleep 0.3")
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, []string{accepted}, asked, "asked once, and only for the accepted key")
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		tr := newTransport(t, cfg, &sshtransport.Options{
			Passphrase: func(string) ([]byte, error) { return []byte("not " + secret), nil },
		})
		_, err := run(context.Background(), tr, "n", "true")
		require.Error(t, err)
		assert.Contains(t, err.Error(), accepted)
		assert.Contains(t, err.Error(), "wrong passphrase")
		assert.NotContains(t, err.Error(), secret)
	})
}

// TestNoSFTP runs the file operations on nodes whose sftp subsystem does
// not work: they fall back to cat.
func TestNoSFTP(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "no-sftp-server")
	require.NoError(t, os.WriteFile(broken, []byte("#!/bin/sh\nexit 1\n"), 0o755))
	c := sshtest.StartCluster(t, 1, &sshtest.Options{SftpServer: broken})
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx := context.Background()
	data := strings.Repeat("some data\n", 10000)

	require.NoError(t, tr.Put(ctx, "node1", "a dir/it's a file", strings.NewReader(data), 0o640))
	out, err := run(ctx, tr, "node1", `stat -c %a "a dir/it's a file"; ls -a "a dir"`)
	require.NoError(t, err)
	assert.Equal(t, "640\n.\n..\nit's a file\n", out, "mode kept, no temporary file left")

	var got bytes.Buffer
	require.NoError(t, tr.Get(ctx, "node1", "a dir/it's a file", &got))
	assert.Equal(t, data, got.String())
	require.ErrorIs(t, tr.Get(ctx, "node1", "missing", &got), os.ErrNotExist)

	require.NoError(t, tr.Remove(ctx, "node1", "a dir/it's a file"))
	require.NoError(t, tr.Remove(ctx, "node1", "a dir/it's a file"))
	require.ErrorIs(t, tr.Get(ctx, "node1", "a dir/it's a file", &got), os.ErrNotExist)
}

// TestServerMaxSessions runs more commands at once than the server's
// MaxSessions allows on one connection: the refused session opens are
// taken as backpressure, and more connections carry the rest.
func TestServerMaxSessions(t *testing.T) {
	c := sshtest.StartCluster(t, 1, &sshtest.Options{MaxSessions: 3})
	tr := newTransport(t, c.ConfigFile(), nil) // believes MaxSessions is 10
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			out, err := run(context.Background(), tr, "node1", fmt.Sprintf("sleep 0.3; echo %d", i))
			assert.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("%d\n", i), out)
		})
	}
	wg.Wait()
}

// TestManyConcurrentDials starts far more commands at once than MaxStartups
// lets handshakes through: the handshake throttle keeps every one.
func TestManyConcurrentDials(t *testing.T) {
	c := sshtest.StartCluster(t, 1, &sshtest.Options{MaxStartups: "3:100:3"})
	tr := newTransport(t, c.ConfigFile(), &sshtransport.Options{MaxSessions: 2, HandshakeConcurrency: 2})
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			_, err := run(context.Background(), tr, "node1", "sleep 0.2")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
}

func TestBadConfig(t *testing.T) {
	p := writeFile(t, "Host a\n  HostName b\nMatch exec \"true\"\n  User x\n")
	_, err := sshtransport.New(&sshtransport.Options{ConfigFile: p})
	require.ErrorIs(t, err, transport.ErrInvalid)
	assert.Contains(t, err.Error(), p+":3:")
	_, err = sshtransport.New(&sshtransport.Options{ConfigFile: filepath.Join(t.TempDir(), "missing")})
	require.ErrorIs(t, err, os.ErrNotExist)
}

// newTransportTB returns a default Transport for the config file that tb
// closes.
func newTransportTB(tb testing.TB, configFile string) *sshtransport.Transport {
	tb.Helper()
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: configFile, NoAgent: true})
	require.NoError(tb, err)
	tb.Cleanup(func() { tr.Close() })
	return tr
}

// newTransport returns a Transport for the config file that t closes.
func newTransport(t *testing.T, configFile string, o *sshtransport.Options) *sshtransport.Transport {
	t.Helper()
	if o == nil {
		o = &sshtransport.Options{}
	}
	if o.ConfigFile == "" {
		o.ConfigFile = configFile
	}
	o.NoAgent = true
	tr, err := sshtransport.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestLoginShells runs hostile arguments through real sshd with each login
// shell installed here: they arrive unchanged whatever the shell.
func TestLoginShells(t *testing.T) {
	args := []string{"it's", `back\slash`, `trailing\`, `\'`, "$HOME", "`id`", "a;b", "*", "line\nbreak", "-n", "", "\xff"}
	var shells []string
	for _, s := range []string{"/bin/sh", "/bin/dash", "/bin/bash", "/usr/bin/zsh", "/usr/bin/fish"} {
		if _, err := os.Stat(s); err == nil {
			shells = append(shells, s)
		}
	}
	require.NotEmpty(t, shells)
	for _, shell := range shells {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := sshtest.StartCluster(t, 1, &sshtest.Options{Shell: shell})
			tr := newTransport(t, c.ConfigFile(), nil)
			var out bytes.Buffer
			err := tr.Run(context.Background(), "node1", &transport.Command{
				Args:   append([]string{"printf", `%s\000`}, args...),
				Env:    []string{"K=v'\\"},
				Dir:    "/",
				Stdout: &out,
			})
			require.NoError(t, err)
			assert.Equal(t, args, strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00"))
			out.Reset()
			require.NoError(t, tr.Run(context.Background(), "node1", &transport.Command{Shell: `echo "$K" "$PWD"`, Env: []string{"K=v'\\"}, Dir: "/", Stdout: &out}))
			assert.Equal(t, "v'\\ /\n", out.String())
		})
	}
}

// TestAgent offers keys from an ssh-agent. The agent holds eight keys, and
// only the last one is authorized; the config names that key's public half
// (the private key lives only in the agent), so only it is offered: without
// that filter the server would stop after six failed keys.
func TestAgent(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	keyring := agent.NewKeyring()
	var last ed25519.PrivateKey
	for range 8 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		require.NoError(t, keyring.Add(agent.AddedKey{PrivateKey: priv}))
		last = priv
	}
	signer, err := ssh.NewSignerFromKey(last)
	require.NoError(t, err)
	ak := filepath.Join(c.Dir(), "authorized_keys")
	require.FileExists(t, ak)
	f, err := os.OpenFile(ak, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				agent.ServeAgent(keyring, conn)
				conn.Close()
			})
		}
	})
	t.Setenv("SSH_AUTH_SOCK", sock)

	pubOnly := filepath.Join(dir, "agent_key")
	require.NoError(t, os.WriteFile(pubOnly+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600))
	cfg := writeConfig(t, c, c.KnownHostsFile(), entry{name: "n", addr: c.Node(1).Addr(),
		extra: []string{"IdentityFile " + pubOnly, "IdentitiesOnly yes"}})
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: cfg})
	require.NoError(t, err)
	defer tr.Close()
	out, err := run(context.Background(), tr, "n", "echo via agent")
	require.NoError(t, err)
	assert.Equal(t, "via agent\n", out)

	// Without the agent, nothing can sign for that key.
	tr2 := newTransport(t, cfg, nil)
	_, err = run(context.Background(), tr2, "n", "true")
	require.ErrorIs(t, err, sshtransport.ErrAuth)
	assert.False(t, transport.IsLost(err), "a refused login is not a lost host: %v", err)
	assert.Contains(t, err.Error(), "unable to authenticate")
}
