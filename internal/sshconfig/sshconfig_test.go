package sshconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testEnv(t *testing.T) *Env {
	t.Helper()
	vars := map[string]string{"HOME": "/env/home", "V": "val"}
	return &Env{
		User: "me", UID: 1000, Home: "/pw/me", Hostname: "box.local.lan",
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		HomeOf: func(u string) (string, error) {
			if u == "other" {
				return "/pw/other/", nil
			}
			return "", errors.New("no such user")
		},
		Service: func(name string) (int, bool) {
			if name == "http" {
				return 80, true
			}
			return 0, false
		},
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(text, "DIR", dir)), 0o600))
	}
	return dir
}

func resolveText(t *testing.T, config, host string) (*Result, error) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"cfg": config})
	c, err := Load(testEnv(t), Source{Path: filepath.Join(dir, "cfg")})
	require.NoError(t, err)
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c.Resolve(Query{Host: host})
}

func TestArgvSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "a b\tc", want: []string{"a", "b", "c"}},
		{in: `"a b" c`, want: []string{"a b", "c"}},
		{in: `a"b c"d`, want: []string{"ab cd"}},
		{in: `'x "y"'`, want: []string{`x "y"`}},
		{in: `a\ b`, want: []string{"a b"}},
		{in: `a\"b \\ \q`, want: []string{`a"b`, `\`, `\q`}},
		{in: "a#b #c d", want: []string{"a#b"}},
		{in: `""`, want: []string{""}},
		{in: `"open`, bad: true},
	}
	for _, tc := range tests {
		got, ok := argvSplit(tc.in)
		assert.Equal(t, !tc.bad, ok, tc.in)
		if !tc.bad {
			assert.Equal(t, tc.want, got, tc.in)
		}
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		in, kw, rest string
		noArg        bool
		skip         bool
	}{
		{in: "User a\n", kw: "user", rest: "a"},
		{in: "User=a", kw: "user", rest: "a"},
		{in: "User = a", kw: "user", rest: "a"},
		{in: "User =a", kw: "user", rest: "a"},
		{in: "User==a", kw: "user", rest: "=a"},
		{in: "  \tUSER\ta  \r\n", kw: "user", rest: "a"},
		{in: "User", kw: "user", noArg: true},
		{in: "User   ", kw: "user", noArg: true},
		{in: "# User a", skip: true},
		{in: "   ", skip: true},
		{in: "\n", skip: true},
	}
	for _, tc := range tests {
		l := parseLine(tc.in)
		if tc.skip {
			assert.Nil(t, l, tc.in)
			continue
		}
		require.NotNil(t, l, tc.in)
		assert.Equal(t, tc.kw, l.keyword, tc.in)
		assert.Equal(t, tc.noArg, l.noArg, tc.in)
		if !tc.noArg {
			assert.Equal(t, tc.rest, l.rest, tc.in)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"web", "web?", false},
		{"web1", "web?", true},
		{"web12", "web?", false},
		{"web", "w*b", true},
		{"web", "*", true},
		{"", "*", true},
		{"WEB", "web", false},
		{"a.b.c", "*.c", true},
		{"abc", "a**c", true},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, matchPattern(tc.s, tc.p), "%q %q", tc.s, tc.p)
	}
	assert.Equal(t, -1, matchList("web", "*,!web", false))
	assert.Equal(t, 1, matchList("web", "x,w*", false))
	assert.Equal(t, 0, matchList("web", "x,y", false))
	assert.Equal(t, 1, matchList("web", "WEB", true))
	assert.Equal(t, 0, matchList("web", "WEB", false))
}

func TestValues(t *testing.T) {
	env := testEnv(t)
	for in, want := range map[string]int64{"90": 90, "1m30s": 90, "1M30": 90, "1w2d": 9 * 86400, "0": 0, "1.5": -1, "": -1, "-1": -1, "5x": -1, "99999999999": -1} {
		assert.Equal(t, want, convtime(in), in)
	}
	for in, want := range map[string]int{"22": 22, "022": 22, "+22": 22, "http": 80, "65535": 65535, "0": 0, "0x16": 0, "65536": 0, "ssh-nope": 0} {
		got, err := env.a2port(in)
		if want == 0 {
			assert.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{"~": "/pw/me/", "~/k": "/pw/me/k", "~//k": "/pw/me/k", "~other/k": "/pw/other/k", "/abs": "/abs", "x~": "x~"} {
		got, err := env.tildeExpand(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := env.tildeExpand("~nobody/k")
	assert.Error(t, err)

	tokens := map[byte]string{'h': "host"}
	for in, want := range map[string]string{"%h-${V}": "host-val", "%%h": "%h", "${HOME}": "/env/home"} {
		got, err := env.expand(in, tokens, true)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"%q", "end%", "${UNSET}", "${}", "${OPEN"} {
		_, err := env.expand(in, tokens, true)
		assert.Error(t, err, in)
	}
	got, err := env.expand("${UNSET}", tokens, false)
	require.NoError(t, err, "no ${} expansion asked for")
	assert.Equal(t, "${UNSET}", got)
}

func TestNumericHost(t *testing.T) {
	for in, want := range map[string]string{
		"127.1": "127.0.0.1", "0x7f.1": "127.0.0.1", "010.0.0.1": "8.0.0.1", "1234": "0.0.4.210",
		"4294967295": "255.255.255.255", "::1": "::1", "0:0::1": "::1", "::ffff:1.2.3.4": "::ffff:1.2.3.4",
		"2001:db8:0:0:1:0:0:1": "2001:db8::1:0:0:1", "1:0:2:0:3:0:4:0": "1:0:2:0:3:0:4:0",
	} {
		got, ok := numericHost(in)
		require.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"4294967296", "1.2.3.4.", "1.2.3.4.5", "host", "1.256.0.0", "fe80::1%eth0"} {
		_, ok := numericHost(in)
		assert.False(t, ok, in)
	}
	assert.True(t, isAddr("FOO:BAR"), "a colon makes an address for ssh")
	assert.False(t, isAddr("host.example"))
}

func TestResolveSemantics(t *testing.T) {
	tests := []struct {
		name, config, host string
		check              func(t *testing.T, r *Result)
	}{
		{"question mark needs a character", "Host web?\n  User q\n", "web", func(t *testing.T, r *Result) { assert.Equal(t, "me", r.User) }},
		{"match host sees HostName", "Host web\n  HostName Real.Example\nMatch host real.example\n  User m\n", "web", func(t *testing.T, r *Result) {
			assert.Equal(t, "m", r.User)
			assert.Equal(t, "real.example", r.HostName)
		}},
		{"first value wins", "User a\nHost web\n  User b\n", "web", func(t *testing.T, r *Result) { assert.Equal(t, "a", r.User) }},
		{"proxycommand none blocks proxyjump", "ProxyCommand none\nProxyJump j\n", "web", func(t *testing.T, r *Result) {
			assert.Empty(t, r.ProxyJump)
			assert.Empty(t, r.ProxyCommand)
		}},
		{"final pass", "Host web\n  HostName Final\nMatch final\n  Port 2200\nHost final\n  User fin\n", "web", func(t *testing.T, r *Result) {
			assert.Equal(t, 2200, r.Port)
			assert.Equal(t, "fin", r.User)
		}},
		{"identity files add up", "IdentityFile ~/a\nIdentityFile %d/b_%r\nIdentityFile ~/a\nIdentityFile none\n", "web", func(t *testing.T, r *Result) {
			assert.Equal(t, []string{"/pw/me/a", "/pw/me/b_me"}, r.IdentityFiles)
			assert.True(t, r.IdentitiesExplicit)
		}},
		{"default identities", "", "web", func(t *testing.T, r *Result) {
			assert.Equal(t, "/pw/me/.ssh/id_rsa", r.IdentityFiles[0])
			assert.Len(t, r.IdentityFiles, 7)
			assert.False(t, r.IdentitiesExplicit)
		}},
		{"times and counts", "ConnectTimeout 0\nServerAliveInterval none\nServerAliveInterval 1m\nServerAliveCountMax 0\n", "web", func(t *testing.T, r *Result) {
			assert.True(t, r.ConnectTimeoutSet)
			assert.Zero(t, r.ConnectTimeout)
			assert.Equal(t, int64(60), int64(r.ServerAliveInterval.Seconds()))
			assert.True(t, r.ServerAliveCountMaxSet)
			assert.Zero(t, r.ServerAliveCountMax)
		}},
		{"jump chain", "ProxyJump a,u@[10.0.0.1]:2200\n", "web", func(t *testing.T, r *Result) {
			assert.Equal(t, "a,u@[10.0.0.1]:2200", r.ProxyJump)
			assert.Equal(t, []Hop{{Host: "a"}, {User: "u", Host: "10.0.0.1", Port: 2200}}, r.Jumps)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := resolveText(t, tc.config, tc.host)
			require.NoError(t, err)
			tc.check(t, r)
		})
	}
}

// TestErrors checks that every error names the file, the line and the
// keyword, and tells refusals from invalid configs.
func TestErrors(t *testing.T) {
	tests := []struct {
		name, config string
		line         int
		keyword      string
		refused      bool
	}{
		{"unknown keyword in inactive block", "Host other\n  Bogus 1\n", 2, "bogus", false},
		{"bad value in inactive block", "Host other\n  Port 0\n", 2, "port", false},
		{"no value", "User a\nUser\n", 2, "user", false},
		{"unclosed quote", "User \"a\n", 1, "user", false},
		{"extra arguments", "User a b\n", 1, "user", false},
		{"jump with space", "ProxyJump a, b\n", 1, "proxyjump", false},
		{"match exec", "Host x\nMatch exec \"true\"\n", 2, "match", true},
		{"match tagged", "Match tagged x\n", 1, "match", false},
		{"match all combined", "Match all host x\n", 1, "match", false},
		{"unknown token at resolve", "IdentityFile /k/%z\n", 1, "identityfile", false},
		{"unset variable", "\n\nUserKnownHostsFile ${NOPE}/kh\n", 3, "userknownhostsfile", false},
		{"hostname token", "HostName %p\n", 1, "hostname", false},
		{"canonical dns", "CanonicalizeHostname yes\nCanonicalDomains example.com\n", 1, "canonicalizehostname", true},
		{"jump loop", "Host web\n  ProxyJump web\n", 2, "proxyjump", false},
		{"none not alone", "GlobalKnownHostsFile none /x\n", 1, "globalknownhostsfile", false},
		{"bad algorithms", "HostKeyAlgorithms ssh-nope\n", 1, "hostkeyalgorithms", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolveText(t, tc.config, "web")
			var ce *Error
			require.ErrorAs(t, err, &ce)
			assert.True(t, strings.HasSuffix(ce.File, "/cfg"), ce.File)
			assert.Equal(t, tc.line, ce.Line)
			assert.Equal(t, tc.keyword, ce.Keyword)
			assert.Equal(t, tc.refused, errors.Is(err, ErrUnsupported), "%v", err)
			assert.Equal(t, !tc.refused, errors.Is(err, ErrInvalid), "%v", err)
			assert.Contains(t, err.Error(), ce.File+":")
		})
	}
}

func TestIgnoreUnknown(t *testing.T) {
	_, err := resolveText(t, "IgnoreUnknown usekeychain,foo*\nUseKeychain yes\nFooBar 1\n", "web")
	require.NoError(t, err)
	// Only an active IgnoreUnknown line counts, and only for later lines.
	_, err = resolveText(t, "Host other\n  IgnoreUnknown bogus\nHost *\n  Bogus 1\n", "web")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = resolveText(t, "Bogus 1\nIgnoreUnknown bogus\n", "web")
	require.ErrorIs(t, err, ErrInvalid)
}

func TestInclude(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"cfg":            "Include DIR/d/* DIR/missing*\nHost web\n  Include \"DIR/sp ace\"\n  Port 2200\n",
		"d/b":            "IdentityFile /b\n",
		"d/a":            "IdentityFile /a\nHost nothere\n  User x\n",
		"d/.hidden":      "IdentityFile /hidden\n",
		"sp ace":         "Host other\n  User y\n",
		"home/.ssh/rel":  "User rel\n",
		"loop":           "Include DIR/loop\n",
		"bad/cfg":        "Include DIR/bad/inc\n",
		"bad/inc":        "User a\n",
		"relcfg":         "Include rel\n",
		"perm/cfg":       "Include DIR/perm/inc\n",
		"perm/inc":       "User a\n",
		"inactive/cfg":   "Host other\n  Include DIR/inactive/inc\n",
		"inactive/inc":   "Port 0\n",
		"inactive/ok":    "Host other\n  Include DIR/inactive/fine\n",
		"inactive/fine":  "User notused\n",
		"inactive/fine2": "",
	})
	env := testEnv(t)
	env.LookupEnv = func(k string) (string, bool) {
		if k == "HOME" {
			return filepath.Join(dir, "home"), true
		}
		return "", false
	}
	resolve := func(name string) (*Result, error) {
		c, err := Load(env, Source{Path: filepath.Join(dir, name)})
		if err != nil {
			return nil, err
		}
		return c.Resolve(Query{Host: "web"})
	}
	r, err := resolve("cfg")
	require.NoError(t, err)
	assert.Equal(t, []string{"/a", "/b"}, r.IdentityFiles, "glob order, no dot files")
	assert.Equal(t, 2200, r.Port, "the included file's Host does not leak out")
	assert.Equal(t, "me", r.User)

	r, err = resolve("relcfg")
	require.NoError(t, err)
	assert.Equal(t, "rel", r.User, "a relative Include is under $HOME/.ssh")

	_, err = resolve("loop")
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Msg, "nested Include")
	assert.Equal(t, "include", ce.Keyword)

	require.NoError(t, os.Chmod(filepath.Join(dir, "perm/inc"), 0o664))
	_, err = resolve("perm/cfg")
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "permissions")

	_, err = resolve("inactive/cfg")
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "port", ce.Keyword, "an inactive Include is still checked")
	assert.True(t, strings.HasSuffix(ce.File, "inactive/inc"))

	r, err = resolve("inactive/ok")
	require.NoError(t, err)
	assert.Equal(t, "me", r.User)
}

func TestLoadSources(t *testing.T) {
	dir := writeFiles(t, map[string]string{"user": "User u\n", "sys": "User s\nPort 2200\nInclude rel\n", "etc/rel": "HostName fromsys\n"})
	env := testEnv(t)
	env.Root = filepath.Join(dir, "etc")
	c, err := Load(env,
		Source{Path: filepath.Join(dir, "absent"), Optional: true},
		Source{Path: filepath.Join(dir, "user"), Optional: true},
		Source{Path: filepath.Join(dir, "sys"), Optional: true, System: true})
	require.NoError(t, err)
	r, err := c.Resolve(Query{Host: "h"})
	require.NoError(t, err)
	assert.Equal(t, "u", r.User)
	assert.Equal(t, 2200, r.Port)
	assert.Equal(t, "fromsys", r.HostName, "a relative Include in the system file is under its root")

	_, err = Load(env, Source{Path: filepath.Join(dir, "absent")})
	require.ErrorIs(t, err, os.ErrNotExist)
}
