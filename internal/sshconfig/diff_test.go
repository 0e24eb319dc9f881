package sshconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The differential test: generated ssh_config files (with Include trees)
// and host strings, each resolved by this package and by OpenSSH's own
// ssh (ssh -G for the settings, ssh -vvv with a ProxyCommand that
// connects nowhere for the expanded identity files), compared keyword by
// keyword. An error on one side must be an error on the other.

const (
	diffSeed  = 20261202
	diffCases = 420
)

// sshWorld is the fake local system both sides see: a passwd file (through
// nss_wrapper when installed) whose home for the current user is not
// $HOME, and a few environment variables.
type sshWorld struct {
	root     string
	env      *Env
	environ  []string
	vars     map[string]string
	fakePw   bool // nss_wrapper in use: ~alice exists
	aliceDir string
}

// findNSSWrapper finds libnss_wrapper.so; DPROC_NSS_WRAPPER names it, or
// is "none" to run without it (with the real passwd home).
func findNSSWrapper() string {
	switch p := os.Getenv("DPROC_NSS_WRAPPER"); p {
	case "":
	case "none":
		return ""
	default:
		return p
	}
	for _, pat := range []string{"/usr/lib/*-linux-gnu*/libnss_wrapper.so", "/usr/lib64/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so", "/usr/local/lib/libnss_wrapper.so"} {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

func newSSHWorld(t *testing.T) *sshWorld {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
			t.Fatalf("ssh not found and DPROC_REQUIRE_SSHD=1: %v", err)
		}
		t.Skipf("ssh not found (set DPROC_REQUIRE_SSHD=1 to fail instead): %v", err)
	}
	root := t.TempDir()
	u, err := user.Current()
	require.NoError(t, err)
	hn, err := os.Hostname()
	require.NoError(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	w := &sshWorld{root: root, vars: map[string]string{
		"PATH":     "/usr/bin:/bin",
		"DPROC_T1": "/from/env",
		"DPROC_SP": "with space",
	}}
	home := u.HomeDir
	homes := map[string]string{}
	if lib := findNSSWrapper(); lib != "" {
		w.fakePw = true
		home = filepath.Join(root, "pwhome")
		w.aliceDir = filepath.Join(root, "alice-home")
		pw, err := os.ReadFile("/etc/passwd")
		require.NoError(t, err)
		var out []string
		for _, l := range strings.Split(strings.TrimRight(string(pw), "\n"), "\n") {
			f := strings.Split(l, ":")
			if len(f) == 7 && f[2] == u.Uid {
				f[5] = home
				l = strings.Join(f, ":")
			}
			out = append(out, l)
		}
		out = append(out, "dproc-alice:x:42420:42420::"+w.aliceDir+":/bin/sh")
		require.NoError(t, os.WriteFile(filepath.Join(root, "passwd"), []byte(strings.Join(out, "\n")+"\n"), 0o644))
		grp, err := os.ReadFile("/etc/group")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(root, "group"), grp, 0o644))
		w.vars["LD_PRELOAD"] = lib
		w.vars["NSS_WRAPPER_PASSWD"] = filepath.Join(root, "passwd")
		w.vars["NSS_WRAPPER_GROUP"] = filepath.Join(root, "group")
		homes["dproc-alice"] = w.aliceDir
	}
	homes[u.Username] = home
	for k, v := range w.vars {
		w.environ = append(w.environ, k+"="+v)
	}
	w.env = &Env{
		User: u.Username, UID: uid, Home: home, Hostname: hn,
		HomeOf: func(name string) (string, error) {
			if h, ok := homes[name]; ok {
				return h, nil
			}
			return "", errors.New("no such user")
		},
	}
	return w
}

// sshAnswer is what OpenSSH made of one case.
type sshAnswer struct {
	err    string              // stderr when ssh failed
	lines  map[string]bool     // "file:line" of each line ssh -G complained about
	values map[string][]string // ssh -G lines by keyword
	ids    []string            // identity files from ssh -vvv
}

// sshErrLine finds the "FILE line N" or "FILE: line N" of ssh's
// complaints about config lines.
var sshErrLine = regexp.MustCompile(`(?m)^(/.*?):? line (\d+):(.*)$`)

// runSSHG runs ssh -G with args and parses its output.
func (w *sshWorld) runSSHG(ctx context.Context, dir string, args ...string) sshAnswer {
	cmd := exec.CommandContext(ctx, "ssh", append([]string{"-G"}, args...)...)
	cmd.Env, cmd.Dir = append([]string{"HOME=" + filepath.Join(dir, "envhome")}, w.environ...), dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		a := sshAnswer{err: fmt.Sprintf("%v: %s", err, stderr.String()), lines: map[string]bool{}}
		for _, m := range sshErrLine.FindAllStringSubmatch(stderr.String(), -1) {
			if !strings.Contains(m[3], "Unsupported option") { // logged, not an error
				a.lines[m[1]+":"+m[2]] = true
			}
		}
		return a
	}
	a := sshAnswer{values: map[string][]string{}}
	for _, l := range strings.Split(out.String(), "\n") {
		k, v, ok := strings.Cut(l, " ")
		if ok {
			a.values[k] = append(a.values[k], v)
		}
	}
	return a
}

// compareHops resolves each ProxyJump hop of res as dproc does and asks
// ssh -G about the same hop, as ssh's own ProxyJump would run it: with the
// hop's user and port on the command line and, after the first hop, a -J
// that overrides the hop's own ProxyJump and ProxyCommand.
func (w *sshWorld) compareHops(ctx context.Context, c *Config, dir, cfg string, res *Result) string {
	var diffs []string
	for i, h := range res.Jumps {
		args := []string{"-F", cfg}
		if h.User != "" {
			args = append(args, "-l", h.User)
		}
		if h.Port > 0 {
			args = append(args, "-p", strconv.Itoa(h.Port))
		}
		if i > 0 {
			args = append(args, "-J", "dproc-previous-hop")
		}
		a := w.runSSHG(ctx, dir, append(args, "--", h.Host)...)
		ours, err := c.Resolve(Query{Host: h.Host, User: h.User, Port: h.Port, Via: i > 0})
		switch {
		case err != nil && a.err != "":
			continue
		case err != nil:
			diffs = append(diffs, fmt.Sprintf("  hop %d %q: we fail, ssh does not: %v", i, h.Host, err))
			continue
		case a.err != "":
			diffs = append(diffs, fmt.Sprintf("  hop %d %q: ssh fails, we do not: %s", i, h.Host, a.err))
			continue
		}
		want := sshGValues(ours)
		if i > 0 {
			delete(want, "proxyjump")
			delete(want, "proxycommand")
		}
		for _, k := range []string{"hostname", "user", "port", "userknownhostsfile", "stricthostkeychecking", "hostkeyalias", "connecttimeout", "serveraliveinterval", "serveralivecountmax", "proxyjump", "proxycommand"} {
			if v, ok := want[k]; ok && strings.Join(a.values[k], "\n") != v {
				diffs = append(diffs, fmt.Sprintf("  hop %d %q %s: ssh %q, ours %q", i, h.Host, k, a.values[k], v))
			}
		}
	}
	return strings.Join(diffs, "\n")
}

func (w *sshWorld) runSSH(ctx context.Context, dir, cfg, host string) sshAnswer {
	env := append([]string{"HOME=" + filepath.Join(dir, "envhome")}, w.environ...)
	a := w.runSSHG(ctx, dir, "-F", cfg, "--", host)
	if a.err != "" {
		return a
	}
	var stderr bytes.Buffer
	// ssh -G prints IdentityFile unexpanded: ask ssh itself, with a
	// ProxyCommand that connects nowhere, which files it would load.
	cmd := exec.CommandContext(ctx, "ssh", "-vvv", "-F", cfg, "-o", "ProxyCommand=false", "-o", "BatchMode=yes", "--", host)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stderr = &stderr
	_ = cmd.Run()
	var ids []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if i := strings.Index(l, "debug1: identity file "); i >= 0 {
			i += len("debug1: ")
			rest := l[i+len("identity file "):]
			if j := strings.LastIndex(rest, " type "); j >= 0 {
				ids = append(ids, rest[:j])
			}
		}
	}
	if e := stderr.String(); !strings.Contains(e, "debug1: Local version string") && !strings.Contains(e, "kex_exchange_identification") && !strings.Contains(e, "banner exchange") {
		// ssh stopped before it began the protocol, after which it
		// would have loaded the identities.
		return sshAnswer{err: "ssh -vvv: " + lastLines(stderr.String(), 3)}
	}
	if len(a.values["certificatefile"]) == 0 {
		// Each identity is followed by its "-cert" variant.
		var plain []string
		for i, id := range ids {
			if i > 0 && id == ids[i-1]+"-cert" {
				continue
			}
			plain = append(plain, id)
		}
		ids = plain
	}
	a.ids = ids
	return a
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// sshGValues renders a Result as the ssh -G lines of the keywords dproc
// uses.
func sshGValues(r *Result) map[string]string {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	m := map[string]string{
		"hostname":              r.HostName,
		"user":                  r.User,
		"port":                  strconv.Itoa(r.Port),
		"identitiesonly":        yn(r.IdentitiesOnly),
		"hashknownhosts":        yn(r.HashKnownHosts),
		"checkhostip":           yn(r.CheckHostIP),
		"serveralivecountmax":   strconv.Itoa(r.ServerAliveCountMax),
		"serveraliveinterval":   strconv.Itoa(int(r.ServerAliveInterval / time.Second)),
		"userknownhostsfile":    strings.Join(r.UserKnownHostsFiles, " "),
		"globalknownhostsfile":  strings.Join(r.GlobalKnownHostsFiles, " "),
		"connecttimeout":        "none",
		"stricthostkeychecking": map[string]string{"yes": "true", "no": "false", "ask": "ask", "accept-new": "accept-new"}[r.StrictHostKeyChecking],
	}
	if len(r.UserKnownHostsFiles) == 0 {
		m["userknownhostsfile"] = "none"
	}
	if len(r.GlobalKnownHostsFiles) == 0 {
		m["globalknownhostsfile"] = "none"
	}
	if r.ConnectTimeoutSet {
		m["connecttimeout"] = strconv.Itoa(int(r.ConnectTimeout / time.Second))
	}
	if r.HostKeyAlias != "" {
		m["hostkeyalias"] = r.HostKeyAlias
	}
	if a := r.HostKeyAlgorithms; a != "" && !strings.ContainsAny(a[:1], "+-^") && !strings.ContainsAny(a, "*?") {
		m["hostkeyalgorithms"] = a
	}
	if r.ProxyJump != "" {
		m["proxyjump"] = r.ProxyJump
	}
	if r.ProxyCommand != "" {
		m["proxycommand"] = r.ProxyCommand
	}
	return m
}

// compareCase returns "" when both sides agree, else what differs.
func (w *sshWorld) compareCase(ours *Result, oursErr error, a sshAnswer) string {
	if oursErr != nil {
		var ce *Error
		if !errors.As(oursErr, &ce) || ce.File == "" {
			return fmt.Sprintf("our error does not name a file: %v", oursErr)
		}
		if ce.Line == 0 && ce.File != "(host)" {
			return fmt.Sprintf("our error does not name a line: %v", oursErr)
		}
		if ce.Keyword == "" && ce.File != "(host)" && !strings.Contains(ce.Msg, "nested Include") && !strings.Contains(ce.Msg, "permissions") {
			return fmt.Sprintf("our error does not name a keyword: %v", oursErr)
		}
		if errors.Is(oursErr, ErrUnsupported) {
			return "" // refused on purpose, whatever ssh does
		}
		if a.err == "" {
			return fmt.Sprintf("we fail, ssh does not:\n  ours: %v", oursErr)
		}
		// When ssh names the lines it rejects, ours must be one of them.
		if where := fmt.Sprintf("%s:%d", ce.File, ce.Line); len(a.lines) > 0 && ce.Line > 0 && !a.lines[where] {
			return fmt.Sprintf("we reject another line than ssh:\n  ours: %v\n  ssh: %s", oursErr, a.err)
		}
		return ""
	}
	if a.err != "" {
		return fmt.Sprintf("ssh fails, we do not:\n  ssh: %s", a.err)
	}
	var diffs []string
	want := sshGValues(ours)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got := strings.Join(a.values[k], "\n")
		if k == "globalknownhostsfile" && got != "none" {
			// ssh -G prints it before ~ is expanded.
			var ex []string
			for _, f := range strings.Fields(got) {
				p, err := w.env.tildeExpand(f)
				if err != nil {
					p = f
				}
				ex = append(ex, p)
			}
			got = strings.Join(ex, " ")
		}
		if got != want[k] {
			diffs = append(diffs, fmt.Sprintf("  %s: ssh %q, ours %q", k, got, want[k]))
		}
	}
	for _, k := range []string{"proxyjump", "proxycommand", "hostkeyalias"} {
		if _, ok := want[k]; !ok && len(a.values[k]) > 0 {
			diffs = append(diffs, fmt.Sprintf("  %s: ssh %q, ours unset", k, a.values[k]))
		}
	}
	if strings.Join(a.ids, "\n") != strings.Join(ours.IdentityFiles, "\n") {
		diffs = append(diffs, fmt.Sprintf("  identity files: ssh %q, ours %q", a.ids, ours.IdentityFiles))
	}
	return strings.Join(diffs, "\n")
}

// diffCase is one generated case: files to write (relative to the case
// directory; "envhome/.ssh/x" lands under $HOME) and a host argument.
type diffCase struct {
	name  string
	files map[string]string
	host  string
}

func TestDifferentialOpenSSH(t *testing.T) {
	w := newSSHWorld(t)
	// DPROC_DIFF_SEED explores other generated configs; CI uses diffSeed.
	seed := uint64(diffSeed)
	if v := os.Getenv("DPROC_DIFF_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "DPROC_DIFF_SEED")
		seed = n
	}
	cases := append(fixedCases(), generateCases(seed, diffCases, w.fakePw)...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	type outcome struct {
		c       diffCase
		dir     string
		diff    string
		ours    string
		kind    string // "ok", "error" or "refused"
		sshFail bool
	}
	results := make([]outcome, len(cases))
	var hopCases atomic.Int64
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, c := range cases {
		dir := filepath.Join(w.root, "case"+strconv.Itoa(i))
		for name, text := range c.files {
			p := filepath.Join(dir, strings.ReplaceAll(name, "CASEDIR", dir))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(text, "CASEDIR", dir)), 0o600))
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "envhome", ".ssh"), 0o700))
		wg.Add(1)
		go func(i int, c diffCase, dir string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := filepath.Join(dir, "cfg")
			a := w.runSSH(ctx, dir, cfg, c.host)
			env := *w.env
			vars := map[string]string{"HOME": filepath.Join(dir, "envhome")}
			for k, v := range w.vars {
				vars[k] = v
			}
			env.LookupEnv = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
			conf, res, err, fromCheck := resolveLikeSSH(&env, cfg, c.host)
			if fromCheck {
				a.lines = nil
			}
			o := outcome{c: c, dir: dir, diff: w.compareCase(res, err, a), kind: "ok", sshFail: a.err != ""}
			if o.diff == "" && err == nil && len(res.Jumps) > 0 {
				o.diff = w.compareHops(ctx, conf, dir, cfg, res)
				hopCases.Add(1)
			}
			if err != nil {
				o.ours = err.Error()
				o.kind = "error"
				if errors.Is(err, ErrUnsupported) {
					o.kind = "refused"
				}
			}
			results[i] = o
		}(i, c, dir)
	}
	wg.Wait()
	require.NoError(t, ctx.Err())
	mismatches := 0
	kinds := map[string]int{}
	for _, o := range results {
		kinds[o.kind]++
		if o.diff == "" {
			continue
		}
		mismatches++
		var b strings.Builder
		names := make([]string, 0, len(o.c.files))
		for n := range o.c.files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "--- %s\n%s", n, strings.ReplaceAll(o.c.files[n], "CASEDIR", o.dir))
		}
		t.Errorf("case %s, host %q:\n%s\n%s", o.c.name, o.c.host, o.diff, b.String())
	}
	ver, _ := exec.Command("ssh", "-V").CombinedOutput()
	t.Logf("%s", bytes.TrimSpace(ver))
	t.Logf("seed %d: %d cases (%d generated), %d mismatches, nss_wrapper=%v; resolved %d (%d with ProxyJump hops compared), rejected by both %d, refused by dproc %d",
		seed, len(cases), diffCases, mismatches, w.fakePw, kinds["ok"], hopCases.Load(), kinds["error"], kinds["refused"])
	// The generator must exercise successful resolutions, not mostly
	// configs that both sides reject.
	require.Greater(t, kinds["ok"], len(cases)/2, "too few cases resolve")
}

// resolveLikeSSH resolves host with cfg as "ssh -F cfg host" would, and
// checks the config as New does. An error from Resolve is the one ssh
// meets for this host; one from Check alone (ssh rejects the config for
// some host) need not be on the line ssh names for this one.
func resolveLikeSSH(env *Env, cfg, host string) (c *Config, res *Result, err error, fromCheck bool) {
	if c, err = Load(env, Source{Path: cfg}); err != nil {
		return nil, nil, err, false
	}
	q := Query{Host: host}
	if strings.HasPrefix(host, "ssh://") {
		h, err := parseHop(env, host)
		if err != nil {
			return nil, nil, &Error{File: "(host)", Msg: err.Error(), Err: ErrInvalid}, false
		}
		q = Query{Host: h.host, User: h.user, Port: h.port}
	} else if i := strings.LastIndexByte(host, '@'); i >= 0 {
		q = Query{Host: host[i+1:], User: host[:i]}
	}
	if res, err = c.Resolve(q); err != nil {
		return nil, nil, err, false
	}
	if err := c.Check(); err != nil {
		return nil, nil, err, true
	}
	return c, res, nil, false
}

// fixedCases are hand-written cases for each class of divergence seen.
func fixedCases() []diffCase {
	one := func(name, cfg, host string) diffCase {
		return diffCase{name: name, files: map[string]string{"cfg": cfg}, host: host}
	}
	return []diffCase{
		one("question mark is one char", "Host web?\n  User q\n", "web"),
		one("question mark matches", "Host web?\n  User q\n", "web1"),
		one("tabs between patterns", "Host\tx\tweb\n  User t\n", "web"),
		one("quoted pattern", "Host \"web\" other\n  User qp\n", "web"),
		one("negation first", "Host !web *\n  User n\n", "web"),
		one("negation later", "Host * !web\n  User n\n", "web"),
		one("only negation", "Host !web\n  User n\n", "other"),
		one("comma literal", "Host a,web\n  User c\n", "web"),
		one("case sensitive host", "Host web\n  User c\n", "WEB"),
		one("match host uses hostname", "Host web\n  HostName real.example.com\nMatch host real.example.com\n  User m\n", "web"),
		one("match host not alias", "Host web\n  HostName real.example.com\nMatch host web\n  User m\n", "web"),
		one("match originalhost", "Host web\n  HostName real\nMatch originalhost WEB\n  User o\n", "web"),
		one("match comma and negation", "Match host a,!web,*\n  User x\nMatch host a,w*\n  User y\n", "web"),
		one("match several criteria", "Match host web user bob\n  Port 2201\nMatch host web user root\n  Port 2202\n", "bob@web"),
		one("match user from config", "User carol\nMatch user carol\n  Port 2203\n", "web"),
		one("match final", "Host web\n  HostName Real.Example.COM\nMatch final host real.example.com\n  User fin\nHost real.example.com\n  Port 2204\n", "web"),
		one("match canonical", "Match canonical\n  User can\nHost web\n  CanonicalizeHostname yes\n", "web"),
		one("not final counts", "Match !final\n  User nf\nHost real\n  Port 2205\n", "real"),
		one("match all", "Match all\n  User all\n", "web"),
		one("match host all quirk", "Match host web all\n  User q\n", "web"),
		one("match all extra", "Match all host web\n  User q\n", "web"),
		one("match tagged unsupported", "Match tagged x\n  User q\n", "web"),
		one("match localnetwork unsupported", "Match localnetwork 10.0.0.0/8\n  User q\n", "web"),
		one("match missing arg", "Match host\n  User q\n", "web"),
		one("quoted known hosts", "UserKnownHostsFile \"/path with space/kh\" /other\n", "web"),
		one("quoted identity", "IdentityFile \"/path with space/id\"\n", "web"),
		one("hash in value", "User a#b\n", "web"),
		one("hash comment", "User a #b\n", "web"),
		one("proxycommand raw", "ProxyCommand nc %h %p # not a comment\n", "web"),
		one("proxycommand none then jump", "ProxyCommand none\nProxyJump bastion\n", "web"),
		one("jump then proxycommand", "ProxyJump bastion\nProxyCommand nc %h %p\n", "web"),
		one("jump none then proxycommand", "ProxyJump none\nProxyCommand nc %h %p\n", "web"),
		one("jump with space", "ProxyJump a, b\n", "web"),
		one("jump chain", "ProxyJump u@a:2200,b,[10.0.0.1]:23\n", "web"),
		one("jump loop", "Host web\n  ProxyJump web\n", "web"),
		one("env var", "IdentityFile ${DPROC_T1}/id\nUserKnownHostsFile ${DPROC_SP}/kh\n", "web"),
		one("env var unset", "IdentityFile ${DPROC_NOPE}/id\n", "web"),
		one("tilde is passwd", "IdentityFile ~/id\nUserKnownHostsFile ~/kh\n", "web"),
		one("tilde other user", "IdentityFile ~dproc-alice/id\n", "web"),
		one("tilde no user", "IdentityFile ~dproc-nosuchuser/id\n", "web"),
		one("all tokens", "Host web\n  HostName Real.Example\n  HostKeyAlias KA\n  User u1\n  Port 2206\n  IdentityFile /k/%C-%d-%h-%i-%k-%L-%l-%n-%p-%r-%u-%%\n  UserKnownHostsFile /kh/%C-%d-%h-%i-%k-%L-%l-%n-%p-%r-%u-%%\n", "web"),
		one("unknown token", "IdentityFile /k/%z\n", "web"),
		one("trailing percent", "UserKnownHostsFile /k/%\n", "web"),
		one("hostname token", "HostName %h.example.org\n", "Web"),
		one("hostname bad token", "HostName %p.example.org\n", "web"),
		one("port 022", "Port 022\n", "web"),
		one("port service", "Port http\n", "web"),
		one("port zero", "Port 0\n", "web"),
		one("port hex", "Port 0x16\n", "web"),
		one("port too big", "Host other\n  Port 65536\n", "web"),
		one("time values", "ConnectTimeout 1m30s\nServerAliveInterval 1M30\n", "web"),
		one("time none then value", "ConnectTimeout none\nConnectTimeout 7\n", "web"),
		one("time bad", "ConnectTimeout 1.5\n", "web"),
		one("count max zero", "ServerAliveCountMax 0\n", "web"),
		one("connect timeout zero", "ConnectTimeout 0\n", "web"),
		one("unknown keyword", "Host other\n  Bogus yes\n", "web"),
		one("ignore unknown", "IgnoreUnknown bogus,x*\nBogus yes\nXtra 1\n", "web"),
		one("ignore unknown later only", "Bogus yes\nIgnoreUnknown bogus\n", "web"),
		one("ignore unknown inactive", "Host other\n  IgnoreUnknown bogus\nHost *\n  Bogus yes\n", "web"),
		one("bad value inactive", "Host other\n  StrictHostKeyChecking maybe\n", "web"),
		one("lowercase hostname", "Host web\n  HostName MiXeD.Example\nHost mixed.example\n  User low\n", "web"),
		one("equals forms", "User=a\nPort = 2207\nHostName =h.example\n", "web"),
		one("double equals", "User==a\n", "web"),
		one("unclosed quote", "User \"abc\n", "web"),
		one("extra args", "User a b\n", "web"),
		one("strict values", "StrictHostKeyChecking Accept-New\n", "web"),
		one("strict off", "StrictHostKeyChecking off\n", "web"),
		one("first wins", "User first\nUser second\nHost web\n  User third\n", "web"),
		one("identity accumulates", "IdentityFile /a\nHost web\n  IdentityFile /b\n  IdentityFile /a\n", "web"),
		one("known hosts first line", "UserKnownHostsFile /a /b\nHost web\n  UserKnownHostsFile /c\n", "web"),
		one("known hosts none alone", "UserKnownHostsFile none /b\n", "web"),
		one("hostkeyalgorithms", "HostKeyAlgorithms ssh-ed25519,rsa-sha2-512\n", "web"),
		one("hostkeyalgorithms bad", "Host x\n  HostKeyAlgorithms ssh-bogus\n", "web"),
		one("address kept", "Host 127.0.0.1\n  User ip\n", "127.1"),
		one("match exec refused", "Match exec \"true\"\n  User x\n", "web"),
		one("canonical no dns", "CanonicalizeHostname yes\nCanonicalDomains none\nHost web\n  User cw\n", "web"),
		one("canonical needs dns", "CanonicalizeHostname yes\nCanonicalDomains example.com\n", "web"),
		one("user at host", "User cfg\n", "cli@web"),
		one("uri host", "Host web\n  Port 2208\n  User cfg\n", "ssh://cli@web:2209"),
		{name: "include relative is under $HOME", files: map[string]string{"cfg": "Include inc\n", "envhome/.ssh/inc": "User inc\n"}, host: "web"},
		{name: "include glob order", files: map[string]string{"cfg": "Include CASEDIR/inc.d/*\n", "inc.d/b": "User b\n", "inc.d/a": "User a\n", "inc.d/.hidden": "User h\n"}, host: "web"},
		{name: "include several args", files: map[string]string{"cfg": "Include CASEDIR/none* CASEDIR/i2 CASEDIR/i1\n", "i1": "Port 2210\n", "i2": "User i2\n"}, host: "web"},
		{name: "include quoted path", files: map[string]string{"cfg": "Include \"CASEDIR/with space/inc\"\n", "with space/inc": "User sp\n"}, host: "web"},
		{name: "include state does not leak", files: map[string]string{"cfg": "Host web\n  Include CASEDIR/i\n  Port 2211\n", "i": "Host other\n  User x\n"}, host: "web"},
		{name: "include inactive syntax checked", files: map[string]string{"cfg": "Host other\n  Include CASEDIR/i\n", "i": "Bogus 1\n"}, host: "web"},
		{name: "include inactive applies not", files: map[string]string{"cfg": "Host other\n  Include CASEDIR/i\n", "i": "User x\n"}, host: "web"},
		{name: "include loop", files: map[string]string{"cfg": "Include CASEDIR/i\n", "i": "Include CASEDIR/i\n"}, host: "web"},
		{name: "include tilde", files: map[string]string{"cfg": "Include ~/.ssh/t\n", "envhome/.ssh/t": "User t\n"}, host: "web"},
	}
}
