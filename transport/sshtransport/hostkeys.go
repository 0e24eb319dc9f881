package sshtransport

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"dproc/internal/knownhosts"
	"dproc/transport"
)

var (
	// ErrUnknownHostKey means the host's key is in no known_hosts file and
	// accept-new was not chosen. It is matched through a [*HostKeyError].
	ErrUnknownHostKey = errors.New("unknown host key")

	// ErrHostKeyChanged means known_hosts holds another key for the host:
	// the host was reinstalled, or someone is intercepting the
	// connection. It is never accepted, whatever the options or the
	// config say. It is matched through a [*HostKeyError].
	ErrHostKeyChanged = errors.New("host key changed")

	// ErrHostKeyRevoked means the host offered a key marked @revoked in
	// known_hosts, or a certificate whose CA is. It is matched through a
	// [*HostKeyError].
	ErrHostKeyRevoked = errors.New("host key revoked")

	// ErrNoHostKeyAlgorithm means the host offers none of the host key
	// algorithms asked for (the config's HostKeyAlgorithms), so it cannot
	// prove its identity. It is matched through a [*HostKeyError].
	ErrNoHostKeyAlgorithm = errors.New("no common host key algorithm")

	// ErrAuth means the host proved its identity but accepted none of the
	// keys offered (or a key could not be used, such as an encrypted one
	// without its passphrase). It is wrapped with the user and host, and it
	// is not a [transport.ErrLost]: another try, or another host with the
	// same keys, fails the same way.
	ErrAuth = errors.New("authentication failed")
)

// HostKeyError reports a host key that was refused. Err is one of
// [ErrUnknownHostKey], [ErrHostKeyChanged], [ErrHostKeyRevoked] and
// [ErrNoHostKeyAlgorithm].
//
// A HostKeyError is not a [transport.ErrLost]: the host is reachable, and
// trying again elsewhere does not make it trusted.
type HostKeyError struct {
	Host        string   // the name looked up in known_hosts: "host", "[host]:port" or the HostKeyAlias
	KeyType     string   // the offered key's type, such as "ssh-ed25519"
	Fingerprint string   // the offered key's SHA256 fingerprint, "SHA256:..."
	Known       []string // where the known keys are ("file:line"): the other keys of a changed key, the @revoked line
	Reason      string   // more detail, such as why a host certificate was refused
	Err         error
}

func (e *HostKeyError) Error() string {
	switch e.Err {
	case ErrHostKeyChanged:
		return fmt.Sprintf("host key for %s has changed: it offered %s %s, but known_hosts holds another key (%s); "+
			"it is possible that someone is doing something nasty (a man-in-the-middle attack), "+
			"or the host key was replaced; the key is refused",
			e.Host, e.KeyType, e.Fingerprint, strings.Join(e.Known, ", "))
	case ErrHostKeyRevoked:
		s := fmt.Sprintf("host key for %s is revoked in known_hosts: %s %s", e.Host, e.KeyType, e.Fingerprint)
		if len(e.Known) > 0 {
			s += " (" + strings.Join(e.Known, ", ") + ")"
		}
		return s
	case ErrNoHostKeyAlgorithm:
		return fmt.Sprintf("no host key algorithm in common with %s: %s", e.Host, e.Reason)
	}
	if e.Reason != "" {
		return fmt.Sprintf("host key for %s is not trusted: %s %s: %s", e.Host, e.KeyType, e.Fingerprint, e.Reason)
	}
	return fmt.Sprintf("host key for %s is not known: %s %s; add it to known_hosts (ssh-keyscan) or choose accept-new",
		e.Host, e.KeyType, e.Fingerprint)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// hostKeyChecker checks one hop's host key against the known_hosts files
// and chooses the host key algorithms to ask for.
type hostKeyChecker struct {
	h     *hostConfig
	host  knownhosts.Host
	files []string
	db    *knownhosts.DB
	// acceptNew records an unknown key in writeTo instead of refusing it.
	acceptNew bool
	writeTo   string
	now       func() time.Time
	// accepted is set once the host's key was accepted.
	accepted atomic.Bool
}

// newHostKeyChecker loads the known_hosts files for h (its own and extra).
// acceptNew (Options.AcceptNew) or the config's StrictHostKeyChecking
// accept-new or no make it record unknown keys.
func newHostKeyChecker(h *hostConfig, extra []string, acceptNew bool) (*hostKeyChecker, error) {
	port := 22
	if h.Port != "" {
		p, err := strconv.Atoi(h.Port)
		if err != nil {
			return nil, fmt.Errorf("sshtransport: host %s: %w: bad port %q", h.HostName, transport.ErrInvalid, h.Port)
		}
		port = p
	}
	var files []string
	for _, f := range slices.Concat(h.UserKnownHosts, h.GlobalKnownHosts, extra) {
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	db, err := knownhosts.Load(files...)
	if err != nil {
		return nil, fmt.Errorf("sshtransport: known_hosts: %w", err)
	}
	strict := h.StrictHostKeyChecking
	c := &hostKeyChecker{
		h:         h,
		host:      knownhosts.Host{Name: h.HostName, Port: port, Alias: h.HostKeyAlias},
		files:     files,
		db:        db,
		acceptNew: acceptNew || h.AcceptNew || strict == "accept-new" || strict == "no",
		now:       time.Now,
	}
	if len(h.UserKnownHosts) > 0 {
		c.writeTo = h.UserKnownHosts[0]
	} else if len(extra) > 0 {
		c.writeTo = extra[0]
	}
	return c, nil
}

// algorithms returns the host key algorithms to ask for, in OpenSSH's
// order for this host (see the package documentation), keeping those that
// golang.org/x/crypto/ssh implements.
func (c *hostKeyChecker) algorithms() ([]string, error) {
	algs, err := c.db.HostKeyAlgorithms(c.host, c.h.HostKeyAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("sshtransport: host %s: %w: %v", c.host.LookupName(), transport.ErrInvalid, err)
	}
	supported := slices.Concat(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys)
	out := slices.DeleteFunc(slices.Clone(algs), func(a string) bool { return !slices.Contains(supported, a) })
	if len(out) == 0 {
		return nil, &HostKeyError{Host: c.host.LookupName(), Err: ErrNoHostKeyAlgorithm,
			Reason: fmt.Sprintf("none of the algorithms asked for (%s) is implemented by golang.org/x/crypto/ssh", strings.Join(algs, ","))}
	}
	return out, nil
}

// check is the ssh.HostKeyCallback.
func (c *hostKeyChecker) check(_ string, _ net.Addr, key ssh.PublicKey) error {
	r := c.db.Check(c.host, key, c.now())
	hkErr := &HostKeyError{
		Host:        r.Name,
		KeyType:     key.Type(),
		Fingerprint: fingerprint(key),
	}
	switch r.Status {
	case knownhosts.OK:
		c.accepted.Store(true)
		return nil
	case knownhosts.Changed:
		hkErr.Err = ErrHostKeyChanged
		for _, e := range r.Known {
			hkErr.Known = append(hkErr.Known, e.Pos())
		}
		return hkErr
	case knownhosts.Revoked:
		hkErr.Err = ErrHostKeyRevoked
		if r.Found != nil {
			hkErr.Known = []string{r.Found.Pos()}
		}
		return hkErr
	}
	hkErr.Err = ErrUnknownHostKey
	hkErr.Reason = r.CertReason
	for _, e := range c.db.Skipped() {
		hkErr.Reason = joinReason(hkErr.Reason, "skipped "+e.Error())
	}
	switch {
	case !c.acceptNew:
		return hkErr
	case c.writeTo == "":
		hkErr.Reason = joinReason(hkErr.Reason, "accept-new has no UserKnownHostsFile to record it in")
		return hkErr
	case !knownhosts.CanRecord(c.h.HostName):
		hkErr.Reason = joinReason(hkErr.Reason, "accept-new does not record a host name holding any of @?*#[]|'\"\\")
		return hkErr
	}
	ar, err := knownhosts.Add(c.writeTo, c.host, r.Key, c.h.HashKnownHosts)
	if err != nil {
		// Refused, not lost: the host is there, its key is not trusted.
		hkErr.Reason = joinReason(hkErr.Reason, "accept-new could not record it: "+err.Error())
		return hkErr
	}
	switch ar.Status {
	case knownhosts.Changed:
		hkErr.Err = ErrHostKeyChanged
		for _, e := range ar.Known {
			hkErr.Known = append(hkErr.Known, e.Pos())
		}
		return hkErr
	case knownhosts.Revoked:
		hkErr.Err = ErrHostKeyRevoked
		return hkErr
	}
	c.accepted.Store(true)
	return nil
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// fingerprint is the SHA256 fingerprint of a key, or of a certificate's
// key, as ssh prints it.
func fingerprint(key ssh.PublicKey) string {
	if c, ok := key.(*ssh.Certificate); ok {
		key = c.Key
	}
	return ssh.FingerprintSHA256(key)
}

// hostKeyAlgError turns a failed host key algorithm negotiation into a
// host key refusal, or returns nil for any other error.
func (c *hostKeyChecker) hostKeyAlgError(err error) error {
	var ne *ssh.AlgorithmNegotiationError
	if !errors.As(err, &ne) || ne.What != "host key" {
		return nil
	}
	return &HostKeyError{Host: c.host.LookupName(), Err: ErrNoHostKeyAlgorithm,
		Reason: fmt.Sprintf("asked for %s; the host offers %s",
			strings.Join(ne.SupportedAlgorithms, ","), strings.Join(ne.RequestedAlgorithms, ","))}
}
