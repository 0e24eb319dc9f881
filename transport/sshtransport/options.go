package sshtransport

import (
	"time"

	"golang.org/x/crypto/ssh"
)

// Default values used when the corresponding [Options] field is zero.
const (
	DefaultConnectTimeout       = 30 * time.Second
	DefaultKeepaliveInterval    = 15 * time.Second
	DefaultKeepaliveCountMax    = 3
	DefaultMaxSessions          = 10
	DefaultHandshakeConcurrency = 4
)

// Options configures a [Transport]. A nil *Options, and every zero field,
// means the documented default.
type Options struct {
	// ConfigFile is the ssh_config file that host strings are resolved
	// with. Empty means ~/.ssh/config followed by /etc/ssh/ssh_config,
	// each only when it exists (as ssh does). When set, only this file is
	// read, as with ssh -F. A file that cannot be parsed makes New fail.
	ConfigFile string

	// KnownHostsFiles are extra known_hosts files that host keys are
	// checked against, after the config's UserKnownHostsFile (default
	// ~/.ssh/known_hosts) and GlobalKnownHostsFile (default
	// /etc/ssh/ssh_known_hosts). Default none.
	KnownHostsFiles []string

	// AcceptNew accepts the key of a host that no known_hosts file knows,
	// appending it to the first UserKnownHostsFile, as OpenSSH's
	// StrictHostKeyChecking=accept-new does. A changed key is refused
	// whatever this says. Default false: unknown hosts are refused unless
	// the config says accept-new (or no) for them.
	AcceptNew bool

	// Passphrase is called for an encrypted private key file, with the
	// file's name, when the server would accept that key. Default nil:
	// connecting with an encrypted key that the server accepts fails with
	// an error naming the file.
	Passphrase func(keyFile string) ([]byte, error)

	// User is the remote user when neither the host string nor the config
	// names one. Default: the local user name.
	User string

	// ConnectTimeout bounds the TCP connect and, separately, the SSH
	// handshake of each hop. The config's ConnectTimeout wins over it.
	// Default [DefaultConnectTimeout].
	ConnectTimeout time.Duration

	// KeepaliveInterval is how often every connection sends a
	// keepalive@openssh.com request; after KeepaliveCountMax unanswered
	// requests the connection is closed and the commands it carries fail
	// with [transport.ErrLost]. The config's ServerAliveInterval and
	// ServerAliveCountMax win over these. A negative interval disables
	// keepalives. Defaults [DefaultKeepaliveInterval] and
	// [DefaultKeepaliveCountMax].
	KeepaliveInterval time.Duration
	KeepaliveCountMax int

	// MaxSessions is the number of channels opened on one connection at
	// once, matching the server's MaxSessions. One is kept for SFTP, so at
	// most MaxSessions-1 commands run on a connection; more commands open
	// more connections. Default [DefaultMaxSessions] (OpenSSH's).
	MaxSessions int

	// MaxConnsPerHost caps the connections to one host. Commands beyond
	// the capacity wait for a free session. Default 0: no cap.
	MaxConnsPerHost int

	// HandshakeConcurrency caps the handshakes in progress to one host, so
	// that the server's MaxStartups (10 by default) never drops one.
	// Default [DefaultHandshakeConcurrency].
	HandshakeConcurrency int

	// Signers are private keys offered before the agent's and the
	// identity files' keys, for tests and programs that hold their keys
	// in memory. Default none.
	Signers []ssh.Signer

	// NoAgent stops the transport from asking the ssh-agent at
	// $SSH_AUTH_SOCK for keys. Default false: the agent is used when
	// SSH_AUTH_SOCK is set.
	NoAgent bool
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = DefaultConnectTimeout
	}
	if r.KeepaliveInterval == 0 {
		r.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if r.KeepaliveCountMax <= 0 {
		r.KeepaliveCountMax = DefaultKeepaliveCountMax
	}
	if r.MaxSessions <= 0 {
		r.MaxSessions = DefaultMaxSessions
	}
	if r.MaxSessions < 2 {
		// One channel is reserved for SFTP.
		r.MaxSessions = 2
	}
	if r.HandshakeConcurrency <= 0 {
		r.HandshakeConcurrency = DefaultHandshakeConcurrency
	}
	return r
}
