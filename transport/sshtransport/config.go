package sshtransport

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"dproc/internal/sshconfig"
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
	// StrictHostKeyChecking is the config's value, lowercased and
	// normalised to one of "yes", "ask", "accept-new" or "no" ("ask" when
	// unset).
	StrictHostKeyChecking string
	// HostKeyAlgorithms is the config's raw HostKeyAlgorithms value
	// ("" when unset): a list, or one starting with +, - or ^.
	HostKeyAlgorithms string

	ConnectTimeout time.Duration // 0: not set in the config
	AliveInterval  time.Duration // valid when AliveSet
	AliveSet       bool
	AliveCountMax  int // 0: not set in the config

	// ConnectTimeoutSet is true when the config sets ConnectTimeout, also
	// to 0 (which OpenSSH takes as "no timeout of its own").
	ConnectTimeoutSet bool
	// AliveCountMaxSet is true when the config sets ServerAliveCountMax,
	// also to 0 (OpenSSH then gives up after one silent interval).
	AliveCountMaxSet bool
	// CertificateFiles are the config's CertificateFile paths, expanded.
	CertificateFiles []string
	// ProxyJump is the ProxyJump value as ssh -G prints it ("" for a
	// direct connection).
	ProxyJump string
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

// currentEnv is the local user, home and host name that resolution uses;
// tests replace it.
var currentEnv = sshconfig.CurrentEnv

// resolver turns host strings into hostConfigs.
type resolver struct {
	cfg         *sshconfig.Config
	home        string // the passwd home directory, as OpenSSH takes it
	localUser   string
	defaultUser string // Options.User
}

const maxJumpDepth = 8

// ErrUnsupportedConfig marks an ssh_config construct that OpenSSH accepts
// but this package refuses on purpose rather than act differently from
// ssh (a ProxyCommand, Match exec, a CanonicalizeHostname that needs DNS,
// KnownHostsCommand, RevokedHostKeys). Such errors also match
// [transport.ErrInvalid].
var ErrUnsupportedConfig = errors.New("not supported by dproc")

// configError wraps an error of the config files: it matches
// transport.ErrInvalid and, for refused constructs, ErrUnsupportedConfig.
type configError struct{ err error }

func (e *configError) Error() string { return "sshtransport: " + e.err.Error() }
func (e *configError) Unwrap() []error {
	errs := []error{e.err, transport.ErrInvalid}
	if errors.Is(e.err, sshconfig.ErrUnsupported) {
		errs = append(errs, ErrUnsupportedConfig)
	}
	return errs
}

// wrapConfigErr turns sshconfig errors into configErrors and leaves others
// (a missing ConfigFile) as they are.
func wrapConfigErr(err error) error {
	var ce *sshconfig.Error
	if errors.As(err, &ce) {
		return &configError{err: err}
	}
	return fmt.Errorf("sshtransport: %w", err)
}

// newResolver reads the config files that opts names (see
// Options.ConfigFile) and checks them as ssh does: any syntax error,
// unknown keyword or bad value, even in a block that applies to no host,
// is an error naming the file, line and keyword. A default file that does
// not exist is skipped.
func newResolver(opts *Options) (*resolver, error) {
	env, err := currentEnv()
	if err != nil {
		return nil, fmt.Errorf("sshtransport: %w", err)
	}
	r := &resolver{home: env.Home, localUser: env.User, defaultUser: opts.User}
	var sources []sshconfig.Source
	if opts.ConfigFile != "" {
		sources = []sshconfig.Source{{Path: expandHomeEnv(opts.ConfigFile)}}
	} else {
		sources = []sshconfig.Source{
			{Path: filepath.Join(env.Home, ".ssh", "config"), Optional: true, CheckPerm: true},
			{Path: "/etc/ssh/ssh_config", Optional: true, System: true},
		}
	}
	if r.cfg, err = sshconfig.Load(env, sources...); err != nil {
		return nil, wrapConfigErr(err)
	}
	if err := r.cfg.Check(); err != nil {
		return nil, wrapConfigErr(err)
	}
	return r, nil
}

// expandHomeEnv expands a leading "~/" of a file name given to the API
// from $HOME, as a shell would for ssh -F.
func expandHomeEnv(p string) string {
	home := os.Getenv("HOME")
	if home == "" {
		return p
	}
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}

// splitHost splits a host string: "[user@]host[:port]" (an IPv6 address
// in brackets, "[::1]:22", or bare, "::1") or "ssh://[user@]host[:port]".
func splitHost(s string) (userName, host, port string, err error) {
	bad := func(msg string) error {
		return fmt.Errorf("sshtransport: host %q: %w: %s", s, transport.ErrInvalid, msg)
	}
	rest := s
	if strings.HasPrefix(s, "ssh://") {
		u, e := url.Parse(s)
		if e != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return "", "", "", bad("bad ssh:// URI")
		}
		if u.User != nil {
			userName = u.User.Username()
			if userName == "" {
				return "", "", "", bad("empty user name")
			}
		}
		host, port = u.Hostname(), u.Port()
	} else {
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			userName, rest = rest[:i], rest[i+1:]
			if userName == "" {
				return "", "", "", bad("empty user name")
			}
		}
		switch {
		case strings.HasPrefix(rest, "["):
			if h, p, e := net.SplitHostPort(rest); e == nil {
				host, port = h, p
			} else if strings.HasSuffix(rest, "]") {
				host = rest[1 : len(rest)-1]
			} else {
				return "", "", "", bad("bad address")
			}
		case strings.Count(rest, ":") == 1:
			host, port, _ = strings.Cut(rest, ":")
		default:
			host = rest
		}
	}
	if host == "" {
		return "", "", "", bad("empty host name")
	}
	if port != "" {
		if n, e := strconv.Atoi(port); e != nil || n <= 0 || n > 65535 {
			return "", "", "", bad(fmt.Sprintf("bad port %q", port))
		}
	}
	return userName, host, port, nil
}

// resolve resolves a host string: an ssh_config alias or [user@]host[:port].
func (r *resolver) resolve(s string) (*hostConfig, error) {
	userName, host, port, err := splitHost(s)
	if err != nil {
		return nil, err
	}
	p, _ := strconv.Atoi(port)
	h, err := r.resolveQuery(sshconfig.Query{Host: host, User: userName, Port: p}, 0)
	if err != nil {
		return nil, fmt.Errorf("sshtransport: host %q: %w", s, err)
	}
	return h, nil
}

func (r *resolver) resolveQuery(q sshconfig.Query, depth int) (*hostConfig, error) {
	q.DefaultUser = r.defaultUser
	res, err := r.cfg.Resolve(q)
	if err != nil {
		return nil, wrapConfigErr(err)
	}
	if res.ProxyCommand != "" {
		return nil, &configError{err: &sshconfig.Error{File: res.ProxyCommandFrom, Keyword: "proxycommand",
			Msg: fmt.Sprintf("ProxyCommand %q: dproc does not run proxy commands; use ProxyJump", res.ProxyCommand), Err: sshconfig.ErrUnsupported}}
	}
	h := &hostConfig{
		Alias:                 q.Host,
		HostName:              res.HostName,
		Port:                  strconv.Itoa(res.Port),
		User:                  res.User,
		IdentityFiles:         res.IdentityFiles,
		IdentitiesExplicit:    res.IdentitiesExplicit,
		IdentitiesOnly:        res.IdentitiesOnly,
		UserKnownHosts:        res.UserKnownHostsFiles,
		GlobalKnownHosts:      res.GlobalKnownHostsFiles,
		HostKeyAlias:          res.HostKeyAlias,
		HashKnownHosts:        res.HashKnownHosts,
		StrictHostKeyChecking: res.StrictHostKeyChecking,
		HostKeyAlgorithms:     res.HostKeyAlgorithms,
		ConnectTimeout:        res.ConnectTimeout,
		ConnectTimeoutSet:     res.ConnectTimeoutSet,
		AliveInterval:         res.ServerAliveInterval,
		AliveSet:              res.ServerAliveIntervalSet,
		CertificateFiles:      res.CertificateFiles,
		ProxyJump:             res.ProxyJump,
	}
	// "no" would accept changed keys in OpenSSH; here it means
	// accept-new: a changed key is always refused.
	h.AcceptNew = h.StrictHostKeyChecking == "accept-new" || h.StrictHostKeyChecking == "no"
	if res.ServerAliveCountMaxSet {
		h.AliveCountMax, h.AliveCountMaxSet = res.ServerAliveCountMax, true
	}
	for _, kw := range []string{"knownhostscommand", "revokedhostkeys"} {
		if v, ok := res.Values[kw]; ok && !strings.EqualFold(v, "none") {
			return nil, &configError{err: &sshconfig.Error{File: res.From[kw], Keyword: kw,
				Msg: "dproc does not implement it, and ignoring it could accept a host key that ssh refuses", Err: sshconfig.ErrUnsupported}}
		}
	}
	// Host-key checks that dproc does not make: refused when turned on,
	// since ignoring them would decide some hosts differently from ssh.
	// (UpdateHostKeys is ignored on purpose: it only adds keys to
	// known_hosts after a connection that was accepted anyway.)
	for _, kw := range []string{"checkhostip", "verifyhostkeydns"} {
		switch strings.ToLower(res.Values[kw]) {
		case "", "no", "false":
		default:
			return nil, &configError{err: &sshconfig.Error{File: res.From[kw], Keyword: kw,
				Msg: "dproc does not implement it; set it to no for the hosts dproc reaches", Err: sshconfig.ErrUnsupported}}
		}
	}
	if len(res.Jumps) > 0 && depth >= maxJumpDepth {
		return nil, fmt.Errorf("%w: ProxyJump chain deeper than %d", transport.ErrInvalid, maxJumpDepth)
	}
	for i, hop := range res.Jumps {
		// As with ssh, the first hop's own ProxyJump leads to it; the
		// later hops are reached through the hop before them only.
		hc, err := r.resolveQuery(sshconfig.Query{Host: hop.Host, User: hop.User, Port: hop.Port, Via: i > 0}, depth+1)
		if err != nil {
			return nil, fmt.Errorf("ProxyJump %s: %w", hop.Host, err)
		}
		if i == 0 {
			h.Jumps = append(h.Jumps, hc.Jumps...)
		}
		hc.Jumps = nil
		h.Jumps = append(h.Jumps, hc)
	}
	return h, nil
}

// expandTokens replaces ssh_config %-tokens ("%%" is "%") with their values.
var expandTokens = sshconfig.ExpandTokens
