package sshtest

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrNoSshd is returned by [Start] when no usable OpenSSH sshd is installed.
// [StartCluster] turns it into a skip, or a failure when the environment
// variable DPROC_REQUIRE_SSHD is "1".
var ErrNoSshd = errors.New("sshtest: OpenSSH sshd not found")

// ErrUnsupported is returned by [Start] on a system this package cannot
// drive: it needs Linux (/proc) for process control. [StartCluster] treats it
// like [ErrNoSshd].
var ErrUnsupported = errors.New("sshtest: unsupported platform")

// ErrNoNSSWrapper is returned by [Start] when [HomeNSSWrapper] is requested
// and libnss_wrapper.so cannot be found.
var ErrNoNSSWrapper = errors.New("sshtest: libnss_wrapper.so not found (Debian package libnss-wrapper)")

// HomeMode selects how a node gets its own home directory although every
// node logs in the same Unix user. See the package documentation.
type HomeMode int

const (
	// HomeAuto uses HomeNSSWrapper when libnss_wrapper.so is installed and
	// HomeForceCommand otherwise.
	HomeAuto HomeMode = iota
	// HomeNSSWrapper runs sshd under nss_wrapper with a passwd file whose
	// entry for the current user names the node's home. sshd itself then
	// changes to the home, sets HOME and starts the login shell there, exactly
	// as for a real account; session signals work.
	HomeNSSWrapper
	// HomeForceCommand makes every session run a wrapper script (sshd_config
	// ForceCommand) that changes to the node home, sets HOME and then runs
	// the requested command with the login shell. sshd refuses "signal"
	// requests for forced-command sessions, so ssh.Session.Signal has no
	// effect on such a node.
	HomeForceCommand
)

// String returns "auto", "nss_wrapper" or "ForceCommand".
func (m HomeMode) String() string {
	switch m {
	case HomeAuto:
		return "auto"
	case HomeNSSWrapper:
		return "nss_wrapper"
	case HomeForceCommand:
		return "ForceCommand"
	}
	return fmt.Sprintf("HomeMode(%d)", int(m))
}

// Host key types accepted in [Options.HostKeyTypes].
const (
	KeyED25519 = "ed25519"
	KeyECDSA   = "ecdsa" // NIST P-256
	// KeyECDSA384 is an ECDSA key on NIST P-384; a node may have it next to
	// a P-256 one.
	KeyECDSA384 = "ecdsa384"
	KeyRSA      = "rsa" // 2048 bits
)

// Options configures a cluster. A nil *Options means all defaults.
type Options struct {
	// HostKeyTypes lists the host key types each node has, from KeyED25519,
	// KeyECDSA, KeyECDSA384 and KeyRSA. Every key is written to the cluster's known_hosts.
	// Default: only KeyED25519.
	HostKeyTypes []string

	// HostCertificate, when set, is called once for each host key of each
	// node, with the node's name ("node1" …) and the public key, and
	// returns the host certificate the node's sshd presents for that key
	// (sshd_config HostCertificate), or nil for none. [SignHostCert] makes
	// one. Default nil: no host certificates.
	HostCertificate func(node string, key ssh.PublicKey) (*ssh.Certificate, error)

	// Stock makes every node a stock OpenSSH server as far as connection
	// limits go: its sshd_config states OpenSSH's defaults, MaxSessions 10
	// and MaxStartups 10:30:100, explicitly, so a test run against it meets
	// the limits of a real server whatever the sshd build's compiled-in
	// defaults are. sshd then drops unauthenticated connections beyond 10
	// at random (30% of them, up to all at 100) and refuses the 11th
	// session on a connection. Stock excludes MaxSessions and MaxStartups:
	// Start fails when either is also set. Default false.
	Stock bool

	// MaxSessions sets sshd's MaxSessions (sessions per connection).
	// Default 0: not set, so OpenSSH's default of 10 applies.
	MaxSessions int

	// MaxStartups sets sshd's MaxStartups ("start:rate:full" or "n").
	// Default "": not set, so OpenSSH's default of 10:30:100 applies.
	MaxStartups string

	// LogLevel sets sshd's LogLevel. Default "VERBOSE".
	LogLevel string

	// Shell is the login shell of the user on every node, used to run
	// commands (e.g. "/bin/dash" to test quoting under another shell). With
	// HomeNSSWrapper it is written into the node's passwd entry; with
	// HomeForceCommand the wrapper runs commands with it.
	// Default "": the current user's login shell (or /bin/sh).
	Shell string

	// User is the Unix user the nodes run as and accept logins for. Only
	// root may name a user other than itself: each sshd then runs as that
	// user (an unprivileged sshd, as a normal account would run it), and the
	// cluster's node directories are given to that user. The directory
	// passed to Start and its parents must be searchable by it (StartCluster
	// takes care of its own temporary directory). Use it to test as a
	// non-root user under a root CI, and to get working session signals:
	// sshd skips post-authentication privilege separation for root logins,
	// and then refuses "signal" requests (see Cluster.SignalsWork).
	// Default "": the current user.
	User string

	// Home selects the home directory mechanism. Default HomeAuto.
	Home HomeMode

	// Sshd is the absolute path of the sshd binary.
	// Default "": /usr/sbin/sshd, else "sshd" on $PATH.
	Sshd string

	// SftpServer is the absolute path of OpenSSH's sftp-server.
	// Default "": the first of /usr/lib/openssh/sftp-server,
	// /usr/libexec/openssh/sftp-server, /usr/libexec/sftp-server and
	// /usr/lib/ssh/sftp-server that exists.
	SftpServer string

	// NSSWrapper is the path of libnss_wrapper.so.
	// Default "": the environment variable DPROC_NSS_WRAPPER, else the usual
	// library directories.
	NSSWrapper string

	// ExtraConfig holds more sshd_config lines, appended to each node's
	// configuration. Default none.
	ExtraConfig []string

	// StartTimeout bounds how long starting one sshd may take.
	// Default 10s.
	StartTimeout time.Duration
}

// OpenSSH's defaults, which [Options.Stock] writes into sshd_config.
const (
	StockMaxSessions = 10
	StockMaxStartups = "10:30:100"
)

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
		r.HostKeyTypes = append([]string(nil), o.HostKeyTypes...)
		r.ExtraConfig = append([]string(nil), o.ExtraConfig...)
	}
	if len(r.HostKeyTypes) == 0 {
		r.HostKeyTypes = []string{KeyED25519}
	}
	if r.LogLevel == "" {
		r.LogLevel = "VERBOSE"
	}
	if r.StartTimeout <= 0 {
		r.StartTimeout = 10 * time.Second
	}
	return r
}
