package sshtransport

import (
	"time"

	"golang.org/x/crypto/ssh"
)

// Default values used when the corresponding [Options] field is zero.
const (
	DefaultConnectTimeout       = 30 * time.Second
	DefaultKeepaliveInterval    = 2 * time.Second
	DefaultKeepaliveCountMax    = 3
	DefaultMaxSessions          = 10
	DefaultHandshakeConcurrency = 4
	DefaultMaxHandshakes        = 64
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

	// KeepaliveInterval and KeepaliveCountMax detect a connection that
	// has gone silent: a frozen or vanished host, a network that drops
	// everything. They mean what ServerAliveInterval and
	// ServerAliveCountMax mean for ssh: when nothing has been received on
	// a connection for KeepaliveInterval, a keepalive@openssh.com request
	// is sent, which a live server answers; when nothing has been received
	// for (KeepaliveCountMax+1) × KeepaliveInterval, KeepaliveCountMax
	// requests having gone unanswered, the connection is closed and the
	// commands it carries fail with [transport.ErrLost]. Any byte received
	// (an answer, output, a window update) ends the silence, so a
	// connection busy with traffic is never probed and never dropped for
	// a slow answer.
	//
	// The config's ServerAliveInterval and ServerAliveCountMax win over
	// these, each on its own; "ServerAliveInterval 0" turns keepalives off
	// for the host, and "ServerAliveCountMax 0" gives up after one
	// unanswered request (ssh would give up after one silent interval
	// without asking, even with a healthy idle server). A negative
	// KeepaliveInterval turns them off for every host the config does not
	// set them for.
	//
	// The defaults, [DefaultKeepaliveInterval] (2 s) and
	// [DefaultKeepaliveCountMax] (3), close a silent connection within
	// 8 s of the last byte received from it (plus a few milliseconds of
	// timer slack), where ssh, which sends no keepalives unless told to,
	// waits for the system's TCP timeout (minutes to hours). Only a
	// connection that is silent anyway is probed, and its server then has
	// 6 s to answer. On a 2-core machine running three sshd nodes and 90
	// commands at once that compress random data (load average 40 to 77),
	// a keepalive on an idle connection was answered in at most 0.2 s, and
	// in at most 2.1 s when the 90 commands also streamed their output
	// back: a healthy host keeps its connection with a margin of three.
	// A process that was stopped or starved for longer than
	// KeepaliveInterval counts the silence afresh when it runs again,
	// since the bytes may be waiting unread.
	KeepaliveInterval time.Duration
	KeepaliveCountMax int

	// MaxSessions is the number of channels opened on one connection at
	// once, matching the server's MaxSessions. One is kept for SFTP, so at
	// most MaxSessions-1 commands run on a connection; more commands open
	// more connections. Default [DefaultMaxSessions] (OpenSSH's).
	//
	// A server that allows fewer is found out when it refuses a session
	// (OpenSSH answers "open failed"): the refused command goes to another
	// connection, dialled if needed, and that connection, like every one
	// dialled to the host afterwards, carries no more commands than were
	// open on it when the server refused (one less while SFTP has not
	// started on it, keeping SFTP's channel free), and at least one. The
	// limit learnt only goes down, for the life of the Transport.
	MaxSessions int

	// MaxConnsPerHost caps the connections to one host. Commands beyond
	// the capacity wait for a free session. Default 0: no cap.
	MaxConnsPerHost int

	// HandshakeConcurrency caps the handshakes in progress to one server
	// address (HostName and port after config resolution, so aliases of
	// one server share it, and every ProxyJump hop counts against its own
	// address). A server's MaxStartups, 10:30:100 by default, drops
	// connections at random once 10 are unauthenticated, and a connection
	// counts as that until sshd has taken note of the login, shortly after
	// the client sees it succeed; 4 leaves room for that and for other
	// clients. A handshake the server resets anyway is tried again, up to
	// six times in all, after a jittered backoff from 100 ms doubling.
	// Default [DefaultHandshakeConcurrency].
	HandshakeConcurrency int

	// MaxHandshakes caps the handshakes of the Transport in progress at
	// once, to all hosts together: a run that starts on thousands of
	// hosts dials them in waves instead of all at once, which would spend
	// the machine's CPU and file descriptors on handshakes that then time
	// out. Waiting for a slot counts against the caller's context only.
	// Default [DefaultMaxHandshakes] (ClusterShell's default fan-out).
	MaxHandshakes int

	// SessionPerCommand gives every command a session of its own. By
	// default a command whose input size is known (Command.InputSize, as
	// the dispatcher gives every chunk) and under 16 MiB, or that has no
	// input, runs in a reused session, which carries one command after
	// another on the host; see the package doc, "Reused sessions", for
	// what differs and what it saves.
	SessionPerCommand bool

	// Signers are private keys offered before the agent's and the
	// identity files' keys, for tests and programs that hold their keys
	// in memory. Default none.
	Signers []ssh.Signer

	// NoAgent stops the transport from asking the ssh-agent at
	// $SSH_AUTH_SOCK for keys. Default false: the agent is used when
	// SSH_AUTH_SOCK is set.
	NoAgent bool

	// limits holds the Transport's handshake slots. It is made by
	// withDefaults, which New calls once per Transport.
	limits *dialLimits
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
	if r.MaxHandshakes <= 0 {
		r.MaxHandshakes = DefaultMaxHandshakes
	}
	r.limits = newDialLimits(r.MaxHandshakes, r.HandshakeConcurrency)
	return r
}
