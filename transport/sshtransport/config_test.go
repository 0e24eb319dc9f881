package sshtransport

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshconfig"
	"dproc/transport"
)

const testConfig = `
Host web
  HostName web.example.com
  User alice
  Port 2222
  IdentityFile ~/.ssh/web_%r@%h:%p
  IdentityFile /keys/%n-%u
  IdentitiesOnly yes
  UserKnownHostsFile ~/kh/%h %d/second
  StrictHostKeyChecking accept-new
  ConnectTimeout 7
  ServerAliveInterval 5
  ServerAliveCountMax 4
  HashKnownHosts yes

Host *.internal
  ProxyJump bastion
  User ops

Host deep
  HostName 10.0.0.9
  ProxyJump bob@web:2200,db.internal

Host bastion
  HostName bastion.example.com
  Port 22022

Host subst
  HostName %h.example.org
  HostKeyAlias subst-key

Host viadb
  ProxyJump db.internal

Host lax
  StrictHostKeyChecking no

Host proxycmd
  ProxyCommand nc %h %p

Host *
  User default-user
`

// fakeHome makes home the passwd home directory that resolution sees (and
// $HOME), for the duration of the test.
func fakeHome(t *testing.T, home string) {
	t.Helper()
	t.Setenv("HOME", home)
	old := currentEnv
	currentEnv = func() (*sshconfig.Env, error) {
		env, err := old()
		if err != nil {
			return nil, err
		}
		env.Home = home
		return env, nil
	}
	t.Cleanup(func() { currentEnv = old })
}

func writeTestConfig(t *testing.T, config string) string {
	t.Helper()
	home := t.TempDir()
	fakeHome(t, home)
	p := filepath.Join(home, "config")
	require.NoError(t, os.WriteFile(p, []byte(config), 0o600))
	return p
}

func newTestResolver(t *testing.T, config string) *resolver {
	t.Helper()
	r, err := newResolver(&Options{ConfigFile: writeTestConfig(t, config), User: "opt-user"})
	require.NoError(t, err)
	return r
}

func TestResolve(t *testing.T) {
	r := newTestResolver(t, testConfig)
	home := r.home
	type want struct {
		hostName, port, user string
		ids                  []string
		idsOnly, acceptNew   bool
		knownHosts           []string
		jumps                []string // user@host:port of each hop
		keyAddr              string
	}
	tests := []struct {
		host string
		want want
	}{
		{"web", want{
			hostName: "web.example.com", port: "2222", user: "alice",
			ids:        []string{home + "/.ssh/web_alice@web.example.com:2222", "/keys/web-" + r.localUser},
			idsOnly:    true,
			acceptNew:  true,
			knownHosts: []string{home + "/kh/web.example.com", home + "/second"},
			keyAddr:    "web.example.com:2222",
		}},
		{"bob@web:2200", want{
			hostName: "web.example.com", port: "2200", user: "bob",
			ids:        []string{home + "/.ssh/web_bob@web.example.com:2200", "/keys/web-" + r.localUser},
			idsOnly:    true,
			acceptNew:  true,
			knownHosts: []string{home + "/kh/web.example.com", home + "/second"},
			keyAddr:    "web.example.com:2200",
		}},
		{"db.internal", want{
			hostName: "db.internal", port: "22", user: "ops",
			jumps:   []string{"default-user@bastion.example.com:22022"},
			keyAddr: "db.internal:22",
		}},
		{"deep", want{
			hostName: "10.0.0.9", port: "22", user: "default-user",
			jumps: []string{
				"bob@web.example.com:2200",
				"ops@db.internal:22", // its own ProxyJump is not used
			},
			keyAddr: "10.0.0.9:22",
		}},
		{"viadb", want{
			hostName: "viadb", port: "22", user: "default-user",
			jumps:   []string{"default-user@bastion.example.com:22022", "ops@db.internal:22"},
			keyAddr: "viadb:22",
		}},
		{"subst", want{hostName: "subst.example.org", port: "22", user: "default-user", keyAddr: "subst-key:22"}},
		{"lax", want{hostName: "lax", port: "22", user: "default-user", acceptNew: true, keyAddr: "lax:22"}},
		{"10.1.2.3:2022", want{hostName: "10.1.2.3", port: "2022", user: "default-user", keyAddr: "10.1.2.3:2022"}},
		{"carol@[::1]:2022", want{hostName: "::1", port: "2022", user: "carol", keyAddr: "[::1]:2022"}},
		{"::1", want{hostName: "::1", port: "22", user: "default-user", keyAddr: "[::1]:22"}},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			h, err := r.resolve(tc.host)
			require.NoError(t, err)
			assert.Equal(t, tc.want.hostName, h.HostName)
			assert.Equal(t, tc.want.port, h.Port)
			assert.Equal(t, tc.want.user, h.User)
			if tc.want.ids != nil {
				assert.Equal(t, tc.want.ids, h.IdentityFiles)
				assert.True(t, h.IdentitiesExplicit)
			} else {
				assert.False(t, h.IdentitiesExplicit)
				assert.Contains(t, h.IdentityFiles, home+"/.ssh/id_ed25519", "default identities")
			}
			assert.Equal(t, tc.want.idsOnly, h.IdentitiesOnly)
			assert.Equal(t, tc.want.acceptNew, h.AcceptNew)
			if tc.want.knownHosts != nil {
				assert.Equal(t, tc.want.knownHosts, h.UserKnownHosts)
			} else {
				assert.Equal(t, []string{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"}, h.UserKnownHosts)
			}
			var jumps []string
			for _, j := range h.Jumps {
				jumps = append(jumps, j.User+"@"+j.HostName+":"+j.Port)
			}
			assert.Equal(t, tc.want.jumps, jumps)
			assert.Equal(t, tc.want.keyAddr, h.keyAddr())
		})
	}

	h, err := r.resolve("web")
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, h.ConnectTimeout)
	assert.True(t, h.AliveSet)
	assert.Equal(t, 5*time.Second, h.AliveInterval)
	assert.Equal(t, 4, h.AliveCountMax)
	assert.True(t, h.HashKnownHosts)
}

func TestResolveDefaults(t *testing.T) {
	r := newTestResolver(t, "")
	h, err := r.resolve("somewhere")
	require.NoError(t, err)
	assert.Equal(t, "opt-user", h.User, "Options.User when nothing else names one")
	assert.Equal(t, "22", h.Port)
	assert.False(t, h.AliveSet)
	assert.False(t, h.AcceptNew)
}

func TestResolveErrors(t *testing.T) {
	r := newTestResolver(t, testConfig+`
Host badtoken
  IdentityFile ~/%z
Host loop
  ProxyJump loop
`)
	for _, host := range []string{"proxycmd", "badtoken", "loop", "", "a@", "h:0", "h:x", "[::1"} {
		t.Run(host, func(t *testing.T) {
			_, err := r.resolve(host)
			require.ErrorIs(t, err, transport.ErrInvalid)
		})
	}
	_, err := r.resolve("proxycmd")
	require.ErrorIs(t, err, ErrUnsupportedConfig)

	// A bad value fails the whole config, as in ssh, even in a block
	// that applies to no host.
	for name, block := range map[string]string{
		"badport":   "Host badport\n  Port 99999\n",
		"badstrict": "Host badstrict\n  StrictHostKeyChecking maybe\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := writeTestConfig(t, testConfig+block)
			_, err := newResolver(&Options{ConfigFile: p})
			require.ErrorIs(t, err, transport.ErrInvalid)
			assert.Contains(t, err.Error(), p+":")
		})
	}
}

func TestConfigParseError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte("Host a\n  User b\n\nMatch exec \"evil\"\n  User c\n"), 0o600))
	_, err := newResolver(&Options{ConfigFile: p})
	require.ErrorIs(t, err, transport.ErrInvalid)
	require.ErrorIs(t, err, ErrUnsupportedConfig)
	assert.Contains(t, err.Error(), p+":4:")

	// A default file that is missing is fine; a named one is not.
	fakeHome(t, dir)
	require.NoError(t, os.Remove(p))
	_, err = newResolver(&Options{})
	require.NoError(t, err)
	_, err = newResolver(&Options{ConfigFile: p})
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestExpandTokens(t *testing.T) {
	tokens := map[byte]string{'h': "host", 'p': "22", 'r': "me"}
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "plain", want: "plain"},
		{in: "%r@%h:%p", want: "me@host:22"},
		{in: "100%%", want: "100%"},
		{in: "%%h", want: "%h"},
		{in: "trailing%", bad: true},
		{in: "%q", bad: true},
	}
	for _, tc := range tests {
		got, err := expandTokens(tc.in, tokens)
		if tc.bad {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestKeepaliveParams(t *testing.T) {
	r := newTestResolver(t, "Host cfg\n  ServerAliveInterval 5\n  ServerAliveCountMax 4\nHost off\n  ServerAliveInterval 0\n")
	tests := []struct {
		host      string
		opts      Options
		wantEvery time.Duration
		wantCount int
	}{
		{host: "plain", opts: Options{}, wantEvery: DefaultKeepaliveInterval, wantCount: DefaultKeepaliveCountMax},
		{host: "plain", opts: Options{KeepaliveInterval: time.Second, KeepaliveCountMax: 2}, wantEvery: time.Second, wantCount: 2},
		{host: "plain", opts: Options{KeepaliveInterval: -1}, wantEvery: 0, wantCount: DefaultKeepaliveCountMax},
		{host: "cfg", opts: Options{KeepaliveInterval: -1, KeepaliveCountMax: 9}, wantEvery: 5 * time.Second, wantCount: 4},
		{host: "off", opts: Options{KeepaliveInterval: time.Second}, wantEvery: 0, wantCount: DefaultKeepaliveCountMax},
	}
	for _, tc := range tests {
		h, err := r.resolve(tc.host)
		require.NoError(t, err)
		o := (&tc.opts).withDefaults()
		every, count := keepaliveParams(&o, h)
		assert.Equal(t, tc.wantEvery, every, tc.host)
		assert.Equal(t, tc.wantCount, count, tc.host)
	}
}

// TestResolveOpenSSHRules pins the rules that OpenSSH applies and the
// former parser did not: see internal/sshconfig for the full set, proven
// against ssh itself.
func TestResolveOpenSSHRules(t *testing.T) {
	r := newTestResolver(t, `
Host web?
  User question
Host bare
  HostName Real.Example
Match host real.example
  Port 2201
Host zero
  ConnectTimeout 0
  ServerAliveCountMax 0
  CertificateFile ~/cert-%h
  ProxyJump u@j1:2200,j2
Host first
  ProxyCommand none
  ProxyJump never
`)
	h, err := r.resolve("web")
	require.NoError(t, err)
	assert.Equal(t, "opt-user", h.User, "? needs exactly one character")
	h, err = r.resolve("web1")
	require.NoError(t, err)
	assert.Equal(t, "question", h.User)

	h, err = r.resolve("bare")
	require.NoError(t, err)
	assert.Equal(t, "real.example", h.HostName, "lowercased")
	assert.Equal(t, "2201", h.Port, "Match host sees the HostName")

	h, err = r.resolve("zero")
	require.NoError(t, err)
	assert.True(t, h.ConnectTimeoutSet)
	assert.Zero(t, h.ConnectTimeout)
	assert.True(t, h.AliveCountMaxSet)
	assert.Zero(t, h.AliveCountMax)
	assert.Equal(t, []string{r.home + "/cert-zero"}, h.CertificateFiles)
	assert.Equal(t, "u@j1:2200,j2", h.ProxyJump)
	require.Len(t, h.Jumps, 2)

	h, err = r.resolve("first")
	require.NoError(t, err)
	assert.Empty(t, h.Jumps, "ProxyCommand none came first")

	h, err = r.resolve("ssh://ann@web1:2022")
	require.NoError(t, err)
	assert.Equal(t, "ann", h.User)
	assert.Equal(t, "2022", h.Port)
}

// TestResolvePasswdHome checks that "~" in the config is the passwd home
// directory, as in OpenSSH, while ConfigFile's "~" is $HOME, as a shell
// expands ssh -F ~/file.
func TestResolvePasswdHome(t *testing.T) {
	envHome, pwHome := t.TempDir(), t.TempDir()
	t.Setenv("HOME", envHome)
	old := currentEnv
	currentEnv = func() (*sshconfig.Env, error) {
		env, err := old()
		if err != nil {
			return nil, err
		}
		env.Home = pwHome
		return env, nil
	}
	t.Cleanup(func() { currentEnv = old })
	require.NoError(t, os.WriteFile(filepath.Join(envHome, "cfg"), []byte("IdentityFile ~/k\nUserKnownHostsFile ${HOME}/kh\n"), 0o600))
	r, err := newResolver(&Options{ConfigFile: "~/cfg"})
	require.NoError(t, err)
	h, err := r.resolve("h")
	require.NoError(t, err)
	assert.Equal(t, []string{pwHome + "/k"}, h.IdentityFiles)
	assert.Equal(t, []string{envHome + "/kh"}, h.UserKnownHosts)
}
