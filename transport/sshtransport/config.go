package sshtransport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"

	"dproc/transport"
)

// hostConfig is everything needed to reach one host (or one ProxyJump hop),
// resolved from a host string and the ssh_config files the way ssh does.
type hostConfig struct {
	Alias    string // the host part of the host string, matched against Host patterns
	HostName string // what is dialled
	Port     string
	User     string

	IdentityFiles      []string
	IdentitiesExplicit bool // IdentityFile was given in the config
	IdentitiesOnly     bool

	Jumps []*hostConfig // ProxyJump hops, the first dialled directly

	UserKnownHosts   []string // the first one receives accept-new keys
	GlobalKnownHosts []string
	HostKeyAlias     string
	AcceptNew        bool // StrictHostKeyChecking accept-new or no
	HashKnownHosts   bool

	ConnectTimeout time.Duration // 0: not set in the config
	AliveInterval  time.Duration // valid when AliveSet
	AliveSet       bool
	AliveCountMax  int // 0: not set in the config
}

// addr is the TCP address dialled for h.
func (h *hostConfig) addr() string { return net.JoinHostPort(h.HostName, h.Port) }

// keyAddr is the host:port under which h's key is looked up in and written
// to known_hosts: HostKeyAlias when set, HostName otherwise.
func (h *hostConfig) keyAddr() string {
	name := h.HostName
	if h.HostKeyAlias != "" {
		name = h.HostKeyAlias
	}
	return net.JoinHostPort(name, h.Port)
}

// configFile is one parsed ssh_config file.
type configFile struct {
	path string
	cfg  *ssh_config.Config
}

// resolver turns host strings into hostConfigs.
type resolver struct {
	files       []configFile
	home        string
	localUser   string
	defaultUser string
}

const maxJumpDepth = 8

// newResolver parses the config files that opts names (see
// Options.ConfigFile). A file that cannot be parsed is an error naming it and
// the line; a default file that does not exist is skipped.
func newResolver(opts *Options) (*resolver, error) {
	r := &resolver{}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.Getenv("HOME")
	}
	r.home = home
	r.localUser = os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		r.localUser = u.Username
	}
	r.defaultUser = opts.User
	if r.defaultUser == "" {
		r.defaultUser = r.localUser
	}

	var paths []string
	explicit := opts.ConfigFile != ""
	if explicit {
		paths = []string{r.expandTilde(opts.ConfigFile)}
	} else if home != "" {
		paths = []string{filepath.Join(home, ".ssh", "config"), "/etc/ssh/ssh_config"}
	}
	for _, p := range paths {
		cfg, err := parseConfigFile(p)
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			continue
		}
		if err != nil {
			return nil, err
		}
		r.files = append(r.files, configFile{path: p, cfg: cfg})
	}
	return r, nil
}

var posRE = regexp.MustCompile(`^\((\d+), (\d+)\): `)

// parseConfigFile parses one ssh_config file. A syntax error names the file
// and the line ("file:line: message").
func parseConfigFile(path string) (*ssh_config.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sshtransport: ssh config: %w", err)
	}
	cfg, err := ssh_config.DecodeBytes(b)
	if err != nil {
		msg := err.Error()
		if m := posRE.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("%s:%s: %s", path, m[1], msg[len(m[0]):])
		} else {
			msg = path + ": " + msg
		}
		return nil, fmt.Errorf("sshtransport: ssh config %s: %w", msg, transport.ErrInvalid)
	}
	return cfg, nil
}

// get returns the first value for key that applies to alias, as ssh does
// (the first obtained value wins), or "".
func (r *resolver) get(alias, key string) (string, error) {
	for _, f := range r.files {
		v, err := f.cfg.Get(alias, key)
		if err != nil {
			return "", fmt.Errorf("sshtransport: ssh config %s: %w", f.path, err)
		}
		if v != "" {
			return v, nil
		}
	}
	return "", nil
}

// getAll returns every value for key that applies to alias, across files.
func (r *resolver) getAll(alias, key string) ([]string, error) {
	var all []string
	for _, f := range r.files {
		v, err := f.cfg.GetAll(alias, key)
		if err != nil {
			return nil, fmt.Errorf("sshtransport: ssh config %s: %w", f.path, err)
		}
		all = append(all, v...)
	}
	return all, nil
}

// splitHost splits "[user@]host[:port]"; an IPv6 address may be given in
// brackets ("[::1]:22") or bare ("::1", no port).
func splitHost(s string) (userName, host, port string, err error) {
	rest := s
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		userName, rest = rest[:i], rest[i+1:]
	}
	switch {
	case strings.HasPrefix(rest, "["):
		if h, p, e := net.SplitHostPort(rest); e == nil {
			host, port = h, p
		} else if strings.HasSuffix(rest, "]") {
			host = rest[1 : len(rest)-1]
		} else {
			return "", "", "", fmt.Errorf("sshtransport: host %q: %w: bad address", s, transport.ErrInvalid)
		}
	case strings.Count(rest, ":") == 1:
		host, port, _ = strings.Cut(rest, ":")
	default:
		host = rest
	}
	if host == "" {
		return "", "", "", fmt.Errorf("sshtransport: host %q: %w: empty host name", s, transport.ErrInvalid)
	}
	if port != "" {
		if n, e := strconv.Atoi(port); e != nil || n <= 0 || n > 65535 {
			return "", "", "", fmt.Errorf("sshtransport: host %q: %w: bad port %q", s, transport.ErrInvalid, port)
		}
	}
	return userName, host, port, nil
}

// resolve resolves a host string: an ssh_config alias or [user@]host[:port].
func (r *resolver) resolve(s string) (*hostConfig, error) {
	return r.resolveDepth(s, 0)
}

func (r *resolver) resolveDepth(s string, depth int) (*hostConfig, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("sshtransport: host %q: %w: %s", s, transport.ErrInvalid, fmt.Sprintf(format, args...))
	}
	userName, alias, port, err := splitHost(s)
	if err != nil {
		return nil, err
	}
	h := &hostConfig{Alias: alias}
	get := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = r.get(alias, key)
		return v
	}

	h.HostName = alias
	if hn := get("HostName"); hn != "" {
		if h.HostName, err = expandTokens(hn, map[byte]string{'h': alias}); err != nil {
			return nil, bad("HostName: %v", err)
		}
	}
	h.Port = port
	if h.Port == "" {
		h.Port = get("Port")
	}
	if h.Port == "" {
		h.Port = "22"
	} else if n, e := strconv.Atoi(h.Port); e != nil || n <= 0 || n > 65535 {
		return nil, bad("bad Port %q", h.Port)
	}
	h.User = userName
	if h.User == "" {
		h.User = get("User")
	}
	if h.User == "" {
		h.User = r.defaultUser
	}
	h.HostKeyAlias = get("HostKeyAlias")
	if err != nil {
		return nil, err
	}

	tokens := map[byte]string{
		'h': h.HostName, 'p': h.Port, 'r': h.User, 'n': alias,
		'u': r.localUser, 'd': r.home,
	}
	if hn, e := os.Hostname(); e == nil {
		tokens['l'] = hn
		tokens['L'], _, _ = strings.Cut(hn, ".")
	}
	path := func(key, v string) (string, error) {
		v, e := expandTokens(v, tokens)
		if e != nil {
			return "", bad("%s: %v", key, e)
		}
		return r.expandTilde(v), nil
	}

	ids, err := r.getAll(alias, "IdentityFile")
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p, e := path("IdentityFile", id)
		if e != nil {
			return nil, e
		}
		h.IdentityFiles = append(h.IdentityFiles, p)
	}
	h.IdentitiesExplicit = len(h.IdentityFiles) > 0
	if !h.IdentitiesExplicit && r.home != "" {
		for _, n := range []string{"id_rsa", "id_ecdsa", "id_ed25519"} {
			h.IdentityFiles = append(h.IdentityFiles, filepath.Join(r.home, ".ssh", n))
		}
	}
	if h.IdentitiesOnly, err = yesNo(get("IdentitiesOnly"), err); err != nil {
		return nil, bad("IdentitiesOnly: %v", err)
	}
	if h.HashKnownHosts, err = yesNo(get("HashKnownHosts"), err); err != nil {
		return nil, bad("HashKnownHosts: %v", err)
	}

	files := func(key string, def []string) ([]string, error) {
		v := get(key)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return def, nil
		}
		if strings.EqualFold(v, "none") {
			return nil, nil
		}
		var out []string
		for _, f := range strings.Fields(v) {
			p, e := path(key, f)
			if e != nil {
				return nil, e
			}
			out = append(out, p)
		}
		return out, nil
	}
	var defUser []string
	if r.home != "" {
		defUser = []string{filepath.Join(r.home, ".ssh", "known_hosts"), filepath.Join(r.home, ".ssh", "known_hosts2")}
	}
	if h.UserKnownHosts, err = files("UserKnownHostsFile", defUser); err != nil {
		return nil, err
	}
	if h.GlobalKnownHosts, err = files("GlobalKnownHostsFile", []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}); err != nil {
		return nil, err
	}

	switch v := strings.ToLower(get("StrictHostKeyChecking")); v {
	case "", "yes", "ask", "true":
	case "accept-new", "no", "off", "false":
		// "no" would accept changed keys in OpenSSH; here it means
		// accept-new: a changed key is always refused.
		h.AcceptNew = true
	default:
		return nil, bad("bad StrictHostKeyChecking %q", v)
	}

	seconds := func(key string) (time.Duration, bool, error) {
		v := get(key)
		if err != nil || v == "" {
			return 0, false, err
		}
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			return 0, false, bad("bad %s %q", key, v)
		}
		return time.Duration(n) * time.Second, true, nil
	}
	if h.ConnectTimeout, _, err = seconds("ConnectTimeout"); err != nil {
		return nil, err
	}
	if h.AliveInterval, h.AliveSet, err = seconds("ServerAliveInterval"); err != nil {
		return nil, err
	}
	if v := get("ServerAliveCountMax"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n <= 0 {
			return nil, bad("bad ServerAliveCountMax %q", v)
		}
		h.AliveCountMax = n
	}

	if pc := get("ProxyCommand"); pc != "" && !strings.EqualFold(pc, "none") {
		return nil, bad("ProxyCommand is not supported; use ProxyJump")
	}
	jump := get("ProxyJump")
	if err != nil {
		return nil, err
	}
	if jump != "" && !strings.EqualFold(jump, "none") {
		if depth >= maxJumpDepth {
			return nil, bad("ProxyJump chain deeper than %d", maxJumpDepth)
		}
		for i, hop := range strings.Split(jump, ",") {
			hop = strings.TrimSpace(hop)
			if strings.HasPrefix(hop, "ssh://") {
				u, e := url.Parse(hop)
				if e != nil {
					return nil, bad("ProxyJump %q: %v", hop, e)
				}
				hop = u.Host
				if u.User != nil {
					hop = u.User.Username() + "@" + hop
				}
			}
			hc, e := r.resolveDepth(hop, depth+1)
			if e != nil {
				return nil, fmt.Errorf("sshtransport: host %q: ProxyJump: %w", s, e)
			}
			// As with ssh, the first hop's own ProxyJump leads to it; the
			// later hops are reached through the hop before them only.
			if i == 0 {
				h.Jumps = append(h.Jumps, hc.Jumps...)
			}
			hc.Jumps = nil
			h.Jumps = append(h.Jumps, hc)
		}
	}
	return h, nil
}

// yesNo parses an ssh_config boolean; "" is false. It passes prev through.
func yesNo(v string, prev error) (bool, error) {
	if prev != nil {
		return false, prev
	}
	switch strings.ToLower(v) {
	case "", "no", "false":
		return false, nil
	case "yes", "true":
		return true, nil
	}
	return false, fmt.Errorf("want yes or no, got %q", v)
}

// expandTokens replaces ssh_config %-tokens ("%%" is "%") with their values.
func expandTokens(s string, tokens map[byte]string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%q ends with a lone %%", s)
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := tokens[s[i]]
		if !ok {
			return "", fmt.Errorf("unsupported token %%%c in %q", s[i], s)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// expandTilde replaces a leading "~" or "~/" with the home directory.
func (r *resolver) expandTilde(p string) string {
	if p == "~" {
		return r.home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(r.home, p[2:])
	}
	return p
}
