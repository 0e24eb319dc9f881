package sshtransport

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

func newTestTransport(t *testing.T, config string, opts Options) *Transport {
	t.Helper()
	opts.ConfigFile = writeTestConfig(t, config)
	tr, err := New(&opts)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestTransportResolve(t *testing.T) {
	tr := newTestTransport(t, `
Host web
  HostName Web.Example.COM
  User alice
  Port 2222
  IdentityFile /keys/%r@%h
  IdentitiesOnly yes
  HostKeyAlias Web-Key
  HostKeyAlgorithms ssh-ed25519
  StrictHostKeyChecking accept-new
  ConnectTimeout 1m30s
  ServerAliveInterval 5
  ServerAliveCountMax 2
  UserKnownHostsFile /kh/one "/kh/with space"
  GlobalKnownHostsFile none
  ProxyJump bob@bastion:2200,inner
Host bastion
  HostName 10.0.0.1
Host inner
  User ops
Host *
  UserKnownHostsFile /kh/default
`, Options{KnownHostsFiles: []string{"/kh/extra"}, KeepaliveInterval: 7 * time.Second})

	s, err := tr.Resolve("web")
	require.NoError(t, err)
	assert.Equal(t, "web", s.Host)
	assert.Equal(t, "web.example.com", s.HostName)
	assert.Equal(t, "alice", s.User)
	assert.Equal(t, 2222, s.Port)
	assert.Equal(t, []string{"/keys/alice@web.example.com"}, s.IdentityFiles)
	assert.True(t, s.IdentitiesOnly)
	assert.Equal(t, "web-key", s.HostKeyAlias)
	assert.Equal(t, "ssh-ed25519", s.HostKeyAlgorithms)
	assert.Equal(t, "accept-new", s.StrictHostKeyChecking)
	assert.True(t, s.AcceptNew)
	assert.Equal(t, 90*time.Second, s.ConnectTimeout)
	assert.Equal(t, 5*time.Second, s.ServerAliveInterval)
	assert.Equal(t, 2, s.ServerAliveCountMax)
	assert.Equal(t, []string{"/kh/one", "/kh/with space"}, s.UserKnownHostsFiles)
	assert.Empty(t, s.GlobalKnownHostsFiles)
	assert.Equal(t, []string{"/kh/extra"}, s.KnownHostsFiles)
	assert.Equal(t, "bob@bastion:2200,inner", s.ProxyJump)
	require.Len(t, s.Jumps, 2)
	assert.Equal(t, "10.0.0.1", s.Jumps[0].HostName)
	assert.Equal(t, "bob", s.Jumps[0].User)
	assert.Equal(t, 2200, s.Jumps[0].Port)
	assert.Equal(t, "inner", s.Jumps[1].HostName)
	assert.Equal(t, "ops", s.Jumps[1].User)

	// The options fill what the config leaves unset.
	d, err := tr.Resolve("carol@plain:2022")
	require.NoError(t, err)
	assert.Equal(t, "carol", d.User)
	assert.Equal(t, 2022, d.Port)
	assert.Equal(t, "ask", d.StrictHostKeyChecking)
	assert.False(t, d.AcceptNew)
	assert.Equal(t, DefaultConnectTimeout, d.ConnectTimeout)
	assert.Equal(t, 7*time.Second, d.ServerAliveInterval)
	assert.Equal(t, DefaultKeepaliveCountMax, d.ServerAliveCountMax)
	assert.Equal(t, []string{"/kh/default"}, d.UserKnownHostsFiles)
	assert.Equal(t, []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}, d.GlobalKnownHostsFiles)
	assert.Empty(t, d.Jumps)

	u, err := tr.Resolve("ssh://dave@plain:2023")
	require.NoError(t, err)
	assert.Equal(t, "dave", u.User)
	assert.Equal(t, 2023, u.Port)
	assert.Equal(t, "plain", u.HostName)
}

func TestTransportResolveErrors(t *testing.T) {
	tr := newTestTransport(t, "Host pc\n  ProxyCommand nc %h %p\nHost tok\n  IdentityFile /k/%z\nHost khc\n  KnownHostsCommand /bin/true %H\nHost canon\n  CanonicalizeHostname yes\n  CanonicalDomains example.com\n", Options{})
	cfg := tr.opts.ConfigFile
	tests := []struct {
		host, where string
		refused     bool
	}{
		{host: "pc", where: cfg + ":2: proxycommand", refused: true},
		{host: "tok", where: cfg + ":4: identityfile"},
		{host: "khc", where: cfg + ":6: knownhostscommand", refused: true},
		{host: "canon", where: cfg + ":8: canonicalizehostname", refused: true},
		{host: "a@"},
		{host: "ssh://h/path"},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			_, err := tr.Resolve(tc.host)
			require.ErrorIs(t, err, transport.ErrInvalid)
			assert.Equal(t, tc.refused, errorsIs(err, ErrUnsupportedConfig), "%v", err)
			assert.Contains(t, err.Error(), tc.where)
		})
	}
	_, err := tr.Resolve("")
	require.ErrorIs(t, err, transport.ErrInvalid)
}

func TestSettingsWriteTo(t *testing.T) {
	s := &Settings{Host: "web", HostName: "web.example.com", User: "alice", Port: 2222,
		IdentityFiles: []string{"/k/a", "/k/b"}, UserKnownHostsFiles: []string{"/kh"},
		AcceptNew: true, ConnectTimeout: 30 * time.Second, ServerAliveInterval: 15 * time.Second,
		ServerAliveCountMax: 3, ProxyJump: "bastion", HostKeyAlias: "alias"}
	want := `host web
user alice
hostname web.example.com
port 2222
hashknownhosts no
identitiesonly no
stricthostkeychecking accept-new
serveralivecountmax 3
serveraliveinterval 15
hostkeyalias alias
identityfile /k/a
identityfile /k/b
globalknownhostsfile none
userknownhostsfile /kh
connecttimeout 30
proxyjump bastion
`
	var b bytes.Buffer
	n, err := s.WriteTo(&b)
	require.NoError(t, err)
	assert.Equal(t, want, b.String())
	assert.Equal(t, int64(len(want)), n)
	assert.Equal(t, want, s.String())
}

// TestSettingsMatchSSHG compares the written settings with ssh -G's
// output for the keywords both print, on configs where dproc and ssh mean
// the same.
func TestSettingsMatchSSHG(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
			t.Fatalf("ssh not found and DPROC_REQUIRE_SSHD=1: %v", err)
		}
		t.Skipf("ssh not found (set DPROC_REQUIRE_SSHD=1 to fail instead): %v", err)
	}
	const common = `
  ConnectTimeout 12
  ServerAliveInterval 9
  ServerAliveCountMax 4
  UserKnownHostsFile /kh/user "/kh/with space"
  IdentityFile /keys/common
`
	configs := []struct {
		config string
		hosts  []string
	}{
		{config: `
Host web*
  HostName %h.Example.org
  User alice
  Port 022
  IdentityFile /keys/one
  IdentityFile /keys/two
  IdentitiesOnly yes
  HashKnownHosts yes
  StrictHostKeyChecking accept-new
  HostKeyAlias Alias-%h
  HostKeyAlgorithms ssh-ed25519,rsa-sha2-512
  ProxyJump jump1,u@[10.0.0.2]:2200
Host *` + common, hosts: []string{"web1", "WEB2", "bob@web3", "other"}},
		{config: `
Match host real.example.com
  User matched
  StrictHostKeyChecking yes
Host alias
  HostName REAL.example.com
  GlobalKnownHostsFile /kh/global
  IdentityFile /keys/alias
Host *` + common, hosts: []string{"alias", "real.example.com", "ssh://x@alias:2201"}},
	}
	for _, c := range configs {
		tr := newTestTransport(t, c.config, Options{})
		for _, host := range c.hosts {
			t.Run(host, func(t *testing.T) {
				s, err := tr.Resolve(host)
				require.NoError(t, err)
				cmd := exec.Command("ssh", "-G", "-F", tr.opts.ConfigFile, "--", host)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				require.NoError(t, err, stderr.String())
				ssh := map[string][]string{}
				for _, l := range strings.Split(string(out), "\n") {
					if k, v, ok := strings.Cut(l, " "); ok {
						ssh[k] = append(ssh[k], v)
					}
				}
				ours := map[string][]string{}
				for _, l := range strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n") {
					k, v, _ := strings.Cut(l, " ")
					ours[k] = append(ours[k], v)
				}
				for k, v := range ours {
					if k == "stricthostkeychecking" && ssh[k][0] == "ask" {
						continue // dproc never prompts: ask refuses like yes
					}
					assert.Equal(t, ssh[k], v, "keyword %s", k)
				}
				assert.Equal(t, len(ssh["proxyjump"]), len(ours["proxyjump"]))
			})
		}
	}
}

func errorsIs(err, target error) bool {
	for e := err; e != nil; {
		if e == target {
			return true
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if errorsIs(x, target) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		default:
			return false
		}
	}
	return false
}

var _ = filepath.Join

// TestResolveZeroTimeouts pins what "ConnectTimeout 0" and
// "ServerAliveCountMax 0" mean here: no connect timeout, as for ssh, and
// one unanswered keepalive (ssh drops the connection after one silent
// interval; see keepaliveParams).
func TestResolveZeroTimeouts(t *testing.T) {
	tr := newTestTransport(t, `
Host zero
  ConnectTimeout 0
  ServerAliveInterval 4
  ServerAliveCountMax 0
`, Options{})
	s, err := tr.Resolve("zero")
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), s.ConnectTimeout)
	assert.Equal(t, 4*time.Second, s.ServerAliveInterval)
	assert.Equal(t, 1, s.ServerAliveCountMax)
	assert.Contains(t, s.String(), "connecttimeout none\n")
}

// TestResolveRefusesUnimplementedHostKeyChecks: CheckHostIP and
// VerifyHostKeyDNS turned on are refused with the file, line and keyword,
// and "no" is accepted.
func TestResolveRefusesUnimplementedHostKeyChecks(t *testing.T) {
	for _, line := range []string{"CheckHostIP yes", "VerifyHostKeyDNS yes", "VerifyHostKeyDNS ask"} {
		t.Run(line, func(t *testing.T) {
			tr := newTestTransport(t, "Host a\n  "+line+"\nHost b\n  "+strings.Fields(line)[0]+" no\n", Options{})
			_, err := tr.Resolve("a")
			require.ErrorIs(t, err, ErrUnsupportedConfig)
			require.ErrorIs(t, err, transport.ErrInvalid)
			assert.Contains(t, err.Error(), ":2")
			assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(strings.Fields(line)[0]))
			_, err = tr.Resolve("b")
			require.NoError(t, err)
		})
	}
}
