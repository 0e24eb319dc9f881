package sshconfig

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseJump reads a ProxyJump value as ssh does: "none", or a comma list
// of [user@]host[:port] and ssh:// URIs. The value ends at the first '#'
// and at the first blank.
func (st *state) parseJump(l *line, raw string, on bool) error {
	if strings.EqualFold(raw, "none") {
		if on && st.jump == nil {
			st.jump = &jumpSpec{none: true, value: &value{file: l.file.path, line: l.num}}
		}
		return nil
	}
	spec := raw
	if i := strings.IndexByte(spec, '#'); i >= 0 {
		spec = spec[:i]
	}
	spec = strings.TrimRight(spec, whitespace)
	if i := strings.IndexAny(spec, " \t"); i >= 0 {
		spec = spec[:i]
	}
	hops := strings.Split(spec, ",")
	var last hop
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := parseHop(st.env, hops[i])
		if err != nil {
			return st.errAt(l, "invalid ProxyJump %q: %v", raw, err)
		}
		if i == len(hops)-1 {
			last = h
		}
	}
	if on && st.proxyCmd == nil && st.jump == nil {
		j := &jumpSpec{spec: spec, user: last.user, host: last.host, port: last.port, value: &value{file: l.file.path, line: l.num}}
		if i := strings.LastIndexByte(spec, ','); i > 0 {
			j.extra = spec[:i]
		}
		st.jump = j
	}
	return nil
}

// hop is one ProxyJump destination.
type hop struct {
	user string
	host string
	port int // 0: not given
}

// parseHop parses "[user@]host[:port]", "[user@][host]:port" or an ssh://
// URI as ssh's parse_user_host_port and parse_ssh_uri do.
func parseHop(env *Env, s string) (hop, error) {
	var h hop
	if strings.HasPrefix(s, "ssh://") {
		rest := s[len("ssh://"):]
		if i := strings.IndexByte(rest, '@'); i >= 0 {
			u := rest[:i]
			if j := strings.IndexByte(u, ';'); j >= 0 {
				u = u[:j]
			}
			if u == "" {
				return h, errors.New("empty user name")
			}
			dec, err := urlDecode(u)
			if err != nil {
				return h, err
			}
			h.user = dec
			rest = rest[i+1:]
		}
		host, tail, delim, ok := hpdelim(rest)
		if !ok || host == "" {
			return h, errors.New("missing host name")
		}
		h.host = cleanHost(host)
		if !validDomainURI(h.host) {
			return h, fmt.Errorf("bad host name %q", h.host)
		}
		if tail != "" {
			if delim == ':' {
				p := tail
				if i := strings.IndexByte(p, '/'); i >= 0 {
					p, tail = p[:i], p[i+1:]
				} else {
					tail = ""
				}
				n, err := env.a2port(p)
				if err != nil {
					return h, err
				}
				h.port = n
			}
			if tail != "" {
				return h, errors.New("a path is not allowed")
			}
		}
		return h, nil
	}
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		if i == 0 {
			return h, errors.New("empty user name")
		}
		h.user = rest[:i]
		rest = rest[i+1:]
	}
	host, tail, delim, ok := hpdelim(rest)
	if !ok || host == "" || delim == '/' {
		return h, errors.New("missing host name")
	}
	h.host = cleanHost(host)
	if tail != "" {
		n, err := env.a2port(tail)
		if err != nil {
			return h, err
		}
		h.port = n
	}
	return h, nil
}

// hpdelim splits "host[:rest]" or "[host]:rest" at the first ':' or '/'
// after the host, as ssh's hpdelim2.
func hpdelim(s string) (host, rest string, delim byte, ok bool) {
	i := 0
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", "", 0, false
		}
		i = j + 1
	} else if j := strings.IndexAny(s, ":/"); j >= 0 {
		i = j
	} else {
		i = len(s)
	}
	if i == len(s) {
		return s, "", 0, true
	}
	switch s[i] {
	case ':', '/':
		return s[:i], s[i+1:], s[i], true
	}
	return "", "", 0, false
}

func cleanHost(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

func validDomainURI(s string) bool {
	if s == "" || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

func urlDecode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) {
				return "", errors.New("bad %-escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || v == 0 {
				return "", errors.New("bad %-escape")
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// match evaluates a Match line (its words read as ssh reads them, with
// '=' and '"' splitting).
func (st *state) match(l *line) (bool, error) {
	ruser := st.defaultUser()
	if st.cmdUser != "" {
		ruser = st.cmdUser
	} else if v := st.one["user"]; v != nil {
		ruser = v.first()
	}
	host := st.hostArg
	if st.final {
		host = st.host
	} else if v := st.one["hostname"]; v != nil {
		h, err := st.env.expand(v.first(), map[byte]string{'h': st.hostArg}, false)
		if err != nil {
			return false, st.errAtValue(v, "hostname", "%v", err)
		}
		host = h
	}

	s := l.rest
	exhausted := false
	result := true
	attributes := 0
	for {
		attr, ok := strdelim(&s, &exhausted)
		if !ok || attr == "" {
			break
		}
		if attr[0] == '#' {
			exhausted = true
			break
		}
		orig := attr
		neg := attr[0] == '!'
		if neg {
			attr = attr[1:]
		}
		la := asciiLower(attr)
		if la == "all" {
			a, ok := strdelim(&s, &exhausted)
			if attributes > 1 || (ok && a != "" && a[0] != '#') {
				return false, st.errAt(l, "'%s' cannot be combined with other Match attributes", orig)
			}
			if ok && a != "" && a[0] == '#' {
				exhausted = true
			}
			if result {
				result = !neg
			}
			return result, st.matchRest(l, s, exhausted)
		}
		attributes++
		if la == "canonical" || la == "final" {
			if la == "final" {
				st.wantFin = true
			}
			if st.final == neg {
				result = false
			}
			continue
		}
		arg, ok := strdelim(&s, &exhausted)
		if !ok || arg == "" || arg[0] == '#' {
			return false, st.errAt(l, "missing Match criteria for %s", attr)
		}
		var r bool
		switch la {
		case "host":
			r = matchList(asciiLower(host), arg, true) == 1
		case "originalhost":
			r = matchList(asciiLower(st.hostArg), arg, true) == 1
		case "user":
			r = matchList(ruser, arg, false) == 1
		case "localuser":
			r = matchList(st.env.User, arg, false) == 1
		case "exec":
			return false, refuseAt(l, "Match exec runs a command to decide; dproc does not run commands from ssh config")
		default:
			return false, st.errAt(l, "unsupported Match attribute %s", attr)
		}
		if r == neg {
			result = false
		}
	}
	if attributes == 0 {
		return false, st.errAt(l, "one or more attributes required for Match")
	}
	return result, st.matchRest(l, s, exhausted)
}

func (st *state) matchRest(l *line, s string, exhausted bool) error {
	if !exhausted && s != "" {
		return st.errAt(l, "extra arguments at end of line")
	}
	return nil
}

func (st *state) errAtValue(v *value, kw, format string, args ...any) error {
	return &Error{File: v.file, Line: v.line, Keyword: kw, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// Query is what a host is resolved for: the host argument and what the
// command line (or dproc's host string) fixes before any config is read.
type Query struct {
	// Host is the host argument: an alias or a name, without "user@".
	Host string
	// User and Port come from "user@host" or "ssh://user@host:port" and
	// win over the config; "" and 0 mean not given.
	User string
	Port int
	// Via marks a ProxyJump hop after the first, which ssh reaches with
	// "-J previous": the hop's own ProxyJump and ProxyCommand are not used.
	Via bool
	// DefaultUser replaces the local user name as the remote user when
	// neither the query nor the config names one ("" keeps the local
	// user, as ssh does). Match user tests it the same way.
	DefaultUser string
}

// Result is a resolved host: every setting dproc uses, as ssh would use
// it.
type Result struct {
	Host     string // the host argument (%n)
	HostName string // the final host name, lowercased unless an address
	User     string
	Port     int
	// IdentityFiles are the IdentityFile paths with ~, %-tokens and
	// ${VAR} expanded, in order, without "none"; when the config names
	// none, OpenSSH's defaults (~/.ssh/id_rsa and so on).
	IdentityFiles      []string
	IdentitiesExplicit bool // IdentityFile appears in the config
	// IdentityFilesRaw are the IdentityFile values as written (as ssh -G
	// prints them).
	IdentityFilesRaw []string
	CertificateFiles []string
	IdentitiesOnly   bool

	// ProxyJump is the ProxyJump value as ssh -G prints it ("" for none),
	// and Jumps its hops in dial order.
	ProxyJump string
	Jumps     []Hop
	// ProxyCommand is the ProxyCommand as written ("" for none).
	ProxyCommand     string
	ProxyCommandFrom string // "file:line" of the ProxyCommand line

	// UserKnownHostsFiles are expanded (~, tokens, ${VAR}); nil for
	// "none". GlobalKnownHostsFiles have ~ expanded.
	UserKnownHostsFiles   []string
	GlobalKnownHostsFiles []string
	// StrictHostKeyChecking is "yes", "ask", "accept-new" or "no".
	StrictHostKeyChecking string
	HostKeyAlias          string
	HostKeyAlgorithms     string // as written, "" when unset
	HashKnownHosts        bool
	CheckHostIP           bool
	BatchMode             bool

	// ConnectTimeout is 0 when unset or "none" (and also for 0, which ssh
	// takes as no timeout of its own); ConnectTimeoutSet tells 0 from
	// unset.
	ConnectTimeout    time.Duration
	ConnectTimeoutSet bool
	// ServerAliveInterval is 0 (off) unless set; ServerAliveCountMax is 3
	// unless set.
	ServerAliveInterval    time.Duration
	ServerAliveIntervalSet bool
	ServerAliveCountMax    int
	ServerAliveCountMaxSet bool

	// Values are the first values of every single-valued keyword that
	// was set, by canonical lowercase name, and From where each was set
	// ("file:line").
	Values map[string]string
	From   map[string]string
}

// Hop is one ProxyJump destination as written.
type Hop struct {
	User string // "" when not given
	Host string
	Port int // 0 when not given
}

// Check reads every line of the config as ssh does for a host that no
// Host or Match line applies to, and returns the first error: syntax,
// unknown keywords (unless some IgnoreUnknown line names them), bad values,
// bad Include files and refused constructs. ssh rejects such a config for
// every host.
func (c *Config) Check() error {
	st := newState(c.env)
	st.check = true
	for _, f := range c.sources {
		active := false
		if err := st.processFile(f, &active, true); err != nil {
			return err
		}
	}
	return nil
}

// Resolve resolves a host as ssh does: it reads the config files for it
// (twice when CanonicalizeHostname or a "Match final" asks for a final
// pass), then expands the values.
func (c *Config) Resolve(q Query) (*Result, error) {
	if q.Host == "" {
		return nil, &Error{File: "(host)", Msg: "empty host name", Err: ErrInvalid}
	}
	st := newState(c.env)
	st.hostArg, st.host = q.Host, q.Host
	st.cmdUser, st.cmdPort, st.via, st.defUser = q.User, q.Port, q.Via, q.DefaultUser
	if err := c.pass(st); err != nil {
		return nil, err
	}

	host := q.Host
	if v := st.one["hostname"]; v != nil {
		h, err := c.env.expand(v.first(), map[byte]string{'h': q.Host}, false)
		if err != nil {
			return nil, st.errAtValue(v, "hostname", "%v", err)
		}
		host = h
		st.one["hostname"] = &value{args: []string{h}, file: v.file, line: v.line}
	}
	wasAddr := isAddr(host)
	if !wasAddr {
		host = asciiLower(host)
	} else if n, ok := numericHost(host); ok && !strings.EqualFold(n, host) {
		host = n
	}
	canon := "no"
	if v := st.one["canonicalizehostname"]; v != nil {
		switch v.first() {
		case "yes", "true":
			canon = "yes"
		case "always":
			canon = "always"
		}
	}
	direct := !st.via && (st.proxyCmd == nil || strings.EqualFold(st.proxyCmd.raw, "none")) && (st.jump == nil || st.jump.none)
	if canon != "no" && !wasAddr {
		if err := st.checkCanonical(host, canon, direct); err != nil {
			return nil, err
		}
	}
	if v := st.lists["canonicalizepermittedcnames"]; v != nil && !(len(v.args) == 1 && strings.EqualFold(v.args[0], "none")) && (direct || canon == "always") {
		return nil, &Error{File: v.file, Line: v.line, Keyword: "canonicalizepermittedcnames", Msg: "following CNAMEs needs a DNS lookup", Err: ErrUnsupported}
	}
	if canon != "no" {
		st.wantFin = true
	}
	if st.wantFin {
		st.final = true
		st.host = host
		st.one["hostname"] = &value{args: []string{host}, file: "(final pass)"}
		if err := c.pass(st); err != nil {
			return nil, err
		}
	}
	return st.result(host)
}

func (st *state) defaultUser() string {
	if st.defUser != "" {
		return st.defUser
	}
	return st.env.User
}

// ExpandTokens replaces the %-tokens of s with their values ("%%" is "%");
// an unknown token or a lone trailing '%' is an error, as in ssh.
func ExpandTokens(s string, tokens map[byte]string) (string, error) {
	return (&Env{}).expand(s, tokens, false)
}

func (c *Config) pass(st *state) error {
	for _, f := range c.sources {
		active := true
		if err := st.processFile(f, &active, false); err != nil {
			return err
		}
	}
	return nil
}

// checkCanonical refuses CanonicalizeHostname when it would need a DNS
// lookup: a name with few enough dots and at least one CanonicalDomains
// suffix, or a name ending in a dot.
func (st *state) checkCanonical(host, canon string, direct bool) error {
	if !direct && canon != "always" {
		return nil
	}
	v := st.one["canonicalizehostname"]
	refuse := func() error {
		return &Error{File: v.file, Line: v.line, Keyword: "canonicalizehostname", Msg: fmt.Sprintf("canonicalising %q needs a DNS lookup", host), Err: ErrUnsupported}
	}
	if strings.HasSuffix(host, ".") {
		return refuse()
	}
	maxDots := 1
	if m := st.one["canonicalizemaxdots"]; m != nil {
		maxDots, _ = strconv.Atoi(m.first())
	}
	if strings.Count(host, ".") > maxDots {
		return nil
	}
	if d := st.lists["canonicaldomains"]; d != nil && len(d.args) > 0 && !strings.EqualFold(d.args[0], "none") {
		return refuse()
	}
	if f := st.one["canonicalizefallbacklocal"]; f != nil && (f.first() == "no" || f.first() == "false") {
		return &Error{File: f.file, Line: f.line, Keyword: "canonicalizefallbacklocal", Msg: fmt.Sprintf("could not canonicalise host %q and CanonicalizeFallbackLocal is no", host), Err: ErrInvalid}
	}
	return nil
}

// defaultIdentities are OpenSSH's IdentityFile defaults, in its order.
var defaultIdentities = []string{"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa"}

func (st *state) result(host string) (*Result, error) {
	env := st.env
	r := &Result{Host: st.hostArg, HostName: host, Port: 22, ServerAliveCountMax: 3, StrictHostKeyChecking: "ask", Values: map[string]string{}}
	if st.cmdPort > 0 {
		r.Port = st.cmdPort
	} else if v := st.one["port"]; v != nil {
		r.Port, _ = strconv.Atoi(v.first())
	}
	r.User = st.defaultUser()
	if st.cmdUser != "" {
		r.User = st.cmdUser
	} else if v := st.one["user"]; v != nil {
		r.User = v.first()
	}
	r.HostKeyAlias = asciiLower(st.one["hostkeyalias"].first())
	r.HostKeyAlgorithms = st.one["hostkeyalgorithms"].first()
	flag := func(name string) bool {
		v := st.one[name].first()
		return v == "yes" || v == "true"
	}
	r.IdentitiesOnly = flag("identitiesonly")
	r.HashKnownHosts = flag("hashknownhosts")
	r.CheckHostIP = flag("checkhostip")
	r.BatchMode = flag("batchmode")
	switch st.one["stricthostkeychecking"].first() {
	case "yes", "true":
		r.StrictHostKeyChecking = "yes"
	case "no", "off", "false":
		r.StrictHostKeyChecking = "no"
	case "accept-new":
		r.StrictHostKeyChecking = "accept-new"
	}
	secs := func(name string) (time.Duration, bool) {
		v := st.one[name]
		if v == nil {
			return 0, false
		}
		n, _ := strconv.Atoi(v.first())
		return time.Duration(n) * time.Second, true
	}
	r.ConnectTimeout, r.ConnectTimeoutSet = secs("connecttimeout")
	r.ServerAliveInterval, r.ServerAliveIntervalSet = secs("serveraliveinterval")
	if v := st.one["serveralivecountmax"]; v != nil {
		r.ServerAliveCountMax, _ = strconv.Atoi(v.first())
		r.ServerAliveCountMaxSet = true
	}
	r.From = map[string]string{}
	for k, v := range st.one {
		r.Values[k] = v.first()
		r.From[k] = fmt.Sprintf("%s:%d", v.file, v.line)
	}

	// ProxyJump and ProxyCommand: the first obtained wins.
	if st.jump != nil && !st.jump.none && !st.via {
		j := st.jump
		r.ProxyJump = j.spec
		hops := strings.Split(j.spec, ",")
		for _, s := range hops {
			h, _ := parseHop(env, s)
			r.Jumps = append(r.Jumps, Hop{User: h.user, Host: h.host, Port: h.port})
		}
		jp := j.port
		if jp <= 0 {
			jp = 22
		}
		ju := j.user
		if ju == "" {
			ju = r.User
		}
		if j.host == host && jp == r.Port && ju == r.User {
			return nil, &Error{File: j.file, Line: j.line, Keyword: "proxyjump", Msg: fmt.Sprintf("jump host loop via %s", j.host), Err: ErrInvalid}
		}
		r.ProxyJump = formatJump(j)
	} else if st.proxyCmd != nil && !st.via && !strings.EqualFold(st.proxyCmd.raw, "none") {
		r.ProxyCommand = st.proxyCmd.raw
		r.ProxyCommandFrom = fmt.Sprintf("%s:%d", st.proxyCmd.file, st.proxyCmd.line)
	}

	// Tokens, for the keywords that take them.
	short, _, _ := strings.Cut(env.Hostname, ".")
	portStr := strconv.Itoa(r.Port)
	sum := sha1.Sum([]byte(env.Hostname + host + portStr + r.User))
	keyAlias := st.hostArg
	if r.HostKeyAlias != "" {
		keyAlias = r.HostKeyAlias
	}
	tokens := map[byte]string{
		'C': hex.EncodeToString(sum[:]), 'L': short, 'd': env.Home, 'h': host,
		'i': strconv.Itoa(env.UID), 'k': keyAlias, 'l': env.Hostname, 'n': st.hostArg,
		'p': portStr, 'r': r.User, 'u': env.User,
	}
	path := func(v *value, kw, p string, dollar, tok bool) (string, error) {
		out, err := env.tildeExpand(p)
		if err != nil {
			return "", st.errAtValue(v, kw, "%v", err)
		}
		t := tokens
		if !tok {
			t = nil
		}
		if out, err = env.expand(out, t, dollar); err != nil {
			return "", st.errAtValue(v, kw, "%q: %v", p, err)
		}
		return out, nil
	}

	// In ssh's order of expansion: the ones ssh -G shows expanded first.
	if v := st.one["remotecommand"]; v != nil && !strings.EqualFold(v.raw, "none") {
		if _, err := env.expand(v.raw, tokens, false); err != nil {
			return nil, st.errAtValue(v, "remotecommand", "%v", err)
		}
	}
	for _, kw := range []string{"controlpath", "identityagent"} {
		if v := st.one[kw]; v != nil && !strings.EqualFold(v.first(), "none") {
			if _, err := path(v, kw, v.first(), true, true); err != nil {
				return nil, err
			}
		}
	}
	if v := st.lists["globalknownhostsfile"]; v != nil {
		if len(v.args) == 1 && strings.EqualFold(v.args[0], "none") {
			r.GlobalKnownHostsFiles = nil
		} else {
			for _, a := range v.args {
				p, err := path(v, "globalknownhostsfile", a, false, false)
				if err != nil {
					return nil, err
				}
				r.GlobalKnownHostsFiles = append(r.GlobalKnownHostsFiles, p)
			}
		}
	} else {
		r.GlobalKnownHostsFiles = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	ukh := st.lists["userknownhostsfile"]
	if ukh == nil {
		ukh = &value{args: []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}, file: "(default)"}
	}
	if !(len(ukh.args) == 1 && strings.EqualFold(ukh.args[0], "none")) {
		for _, a := range ukh.args {
			p, err := path(ukh, "userknownhostsfile", a, true, true)
			if err != nil {
				return nil, err
			}
			r.UserKnownHostsFiles = append(r.UserKnownHostsFiles, p)
		}
	}
	r.IdentitiesExplicit = len(st.ids) > 0
	ids := st.ids
	if len(ids) == 0 {
		for _, d := range defaultIdentities {
			ids = append(ids, &value{args: []string{d}, file: "(default)"})
		}
	}
	for _, v := range ids {
		r.IdentityFilesRaw = append(r.IdentityFilesRaw, v.first())
		if strings.EqualFold(v.first(), "none") {
			continue
		}
		p, err := path(v, "identityfile", v.first(), true, true)
		if err != nil {
			return nil, err
		}
		r.IdentityFiles = append(r.IdentityFiles, p)
	}
	for _, v := range st.certs {
		p, err := path(v, "certificatefile", v.first(), true, true)
		if err != nil {
			return nil, err
		}
		r.CertificateFiles = append(r.CertificateFiles, p)
	}
	return r, nil
}

// formatJump writes a ProxyJump value as ssh -G does.
func formatJump(j *jumpSpec) string {
	var b strings.Builder
	if j.extra != "" {
		b.WriteString(j.extra)
		b.WriteByte(',')
	}
	if j.user != "" {
		b.WriteString(j.user)
		b.WriteByte('@')
	}
	numeric := strings.Contains(j.host, ":") || strings.Trim(j.host, "1234567890.") == ""
	if numeric {
		b.WriteString("[" + j.host + "]")
	} else {
		b.WriteString(j.host)
	}
	if j.port > 0 {
		b.WriteString(":" + strconv.Itoa(j.port))
	}
	return b.String()
}
