package sshtransport

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"dproc/transport"
)

// Settings are what a [Transport] uses to reach one host, resolved from the
// host string and the ssh_config files as OpenSSH's ssh resolves them, with
// the transport's [Options] applied. [Transport.Resolve] returns them.
type Settings struct {
	// Host is the host part of the host string: what Host patterns are
	// matched against.
	Host string
	// HostName is what is dialled: the config's HostName with %h
	// expanded, lowercased unless it is an address.
	HostName string
	User     string
	Port     int

	// IdentityFiles are the private key files offered, in order, with
	// "~", %-tokens and ${VAR} expanded; OpenSSH's default files when the
	// config names none. IdentitiesOnly limits the agent's keys to them.
	IdentityFiles  []string
	IdentitiesOnly bool

	// ProxyJump is the config's ProxyJump as ssh -G prints it ("" for a
	// direct connection), and Jumps the hops dialled before the host, in
	// order: the first directly, each later one through the one before.
	ProxyJump string
	Jumps     []*Settings

	// UserKnownHostsFiles, GlobalKnownHostsFiles and the extra
	// KnownHostsFiles of the Options are the known_hosts files the host key
	// is checked against; an accepted new key is written to the first
	// user file (or the first extra one when there is no user file).
	UserKnownHostsFiles   []string
	GlobalKnownHostsFiles []string
	KnownHostsFiles       []string
	// StrictHostKeyChecking is the config's value: "yes", "ask" (the
	// default), "accept-new" or "no". AcceptNew is what the transport does
	// with a host key no file knows: record it (accept-new or no in the
	// config, or Options.AcceptNew) or refuse it; it never prompts, and
	// it refuses a changed key whatever the config says.
	StrictHostKeyChecking string
	AcceptNew             bool
	// HostKeyAlias, lowercased, replaces HostName in known_hosts lookups.
	HostKeyAlias string
	// HostKeyAlgorithms is the config's raw value ("" when unset).
	HostKeyAlgorithms string
	HashKnownHosts    bool

	// ConnectTimeout bounds the TCP connect and the handshake: the
	// config's ConnectTimeout when it sets one, else
	// Options.ConnectTimeout. 0 means none ("ConnectTimeout 0").
	ConnectTimeout time.Duration
	// ServerAliveInterval is how often a keepalive is sent (0: never), and
	// ServerAliveCountMax how many may go unanswered: the config's values
	// when set, else the Options'.
	ServerAliveInterval time.Duration
	ServerAliveCountMax int
}

// Resolve returns the settings the transport will use for host (an
// ssh_config alias, "[user@]host[:port]" or "ssh://[user@]host[:port]"),
// without connecting. It fails as connecting would fail for a host string
// or config entry the transport cannot use: with an error matching
// [transport.ErrInvalid] that names the config file, line and keyword, and
// also [ErrUnsupportedConfig] for a construct refused on purpose.
func (t *Transport) Resolve(host string) (*Settings, error) {
	if host == "" {
		return nil, &transport.OpError{Op: "resolve", Host: host, Err: errEmptyHost}
	}
	h, err := t.res.resolve(host)
	if err != nil {
		return nil, err
	}
	return t.settings(h), nil
}

func (t *Transport) settings(h *hostConfig) *Settings {
	port, _ := strconv.Atoi(h.Port)
	s := &Settings{
		Host:                  h.Alias,
		HostName:              h.HostName,
		User:                  h.User,
		Port:                  port,
		IdentityFiles:         h.IdentityFiles,
		IdentitiesOnly:        h.IdentitiesOnly,
		ProxyJump:             h.ProxyJump,
		UserKnownHostsFiles:   h.UserKnownHosts,
		GlobalKnownHostsFiles: h.GlobalKnownHosts,
		KnownHostsFiles:       t.opts.KnownHostsFiles,
		StrictHostKeyChecking: h.StrictHostKeyChecking,
		AcceptNew:             t.opts.AcceptNew || h.AcceptNew,
		HostKeyAlias:          h.HostKeyAlias,
		HostKeyAlgorithms:     h.HostKeyAlgorithms,
		HashKnownHosts:        h.HashKnownHosts,
		ConnectTimeout:        connectTimeout(&t.opts, h),
	}
	s.ServerAliveInterval, s.ServerAliveCountMax = keepaliveParams(&t.opts, h)
	for _, j := range h.Jumps {
		s.Jumps = append(s.Jumps, t.settings(j))
	}
	return s
}

// WriteTo writes the settings in the format of ssh -G: one "keyword value"
// line per setting, the keyword lowercase, identityfile once per file.
// Values are what the transport uses, which differ from ssh -G's where the
// transport differs from ssh: stricthostkeychecking is "accept-new" when
// unknown keys are recorded and "true" otherwise (the transport never
// prompts), connecttimeout and the serveralive values include the Options'
// defaults, and identityfile paths are expanded.
func (s *Settings) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var n int64
	line := func(k, v string) {
		m, _ := fmt.Fprintf(bw, "%s %s\n", k, v)
		n += int64(m)
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	list := func(files []string) string {
		if len(files) == 0 {
			return "none"
		}
		return strings.Join(files, " ")
	}
	line("host", s.Host)
	line("user", s.User)
	line("hostname", s.HostName)
	line("port", strconv.Itoa(s.Port))
	line("hashknownhosts", yesNo(s.HashKnownHosts))
	line("identitiesonly", yesNo(s.IdentitiesOnly))
	strict := "true"
	if s.AcceptNew {
		strict = "accept-new"
	}
	line("stricthostkeychecking", strict)
	line("serveralivecountmax", strconv.Itoa(s.ServerAliveCountMax))
	line("serveraliveinterval", strconv.Itoa(int(s.ServerAliveInterval/time.Second)))
	if s.HostKeyAlgorithms != "" {
		line("hostkeyalgorithms", s.HostKeyAlgorithms)
	}
	if s.HostKeyAlias != "" {
		line("hostkeyalias", s.HostKeyAlias)
	}
	for _, f := range s.IdentityFiles {
		line("identityfile", f)
	}
	line("globalknownhostsfile", list(s.GlobalKnownHostsFiles))
	line("userknownhostsfile", list(s.UserKnownHostsFiles))
	if s.ConnectTimeout > 0 {
		line("connecttimeout", strconv.Itoa(int(s.ConnectTimeout/time.Second)))
	} else {
		line("connecttimeout", "none")
	}
	if s.ProxyJump != "" {
		line("proxyjump", s.ProxyJump)
	}
	return n, bw.Flush()
}

// String returns the settings as [Settings.WriteTo] writes them.
func (s *Settings) String() string {
	var b strings.Builder
	_, _ = s.WriteTo(&b)
	return b.String()
}
