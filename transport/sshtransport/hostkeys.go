package sshtransport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	skeema "github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
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
	// known_hosts. It is matched through a [*HostKeyError].
	ErrHostKeyRevoked = errors.New("host key revoked")
)

// HostKeyError reports a host key that was refused. Err is one of
// [ErrUnknownHostKey], [ErrHostKeyChanged] and [ErrHostKeyRevoked].
//
// A HostKeyError is not a [transport.ErrLost]: the host is reachable, and
// trying again elsewhere does not make it trusted.
type HostKeyError struct {
	Host        string   // the name looked up in known_hosts, "host" or "[host]:port"
	KeyType     string   // the offered key's type, such as "ssh-ed25519"
	Fingerprint string   // the offered key's SHA256 fingerprint, "SHA256:..."
	Known       []string // for a changed key, where the known keys are ("file:line")
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
		return fmt.Sprintf("host key for %s is revoked in known_hosts: %s %s", e.Host, e.KeyType, e.Fingerprint)
	}
	if e.Reason != "" {
		return fmt.Sprintf("host key for %s is not trusted: %s %s: %s", e.Host, e.KeyType, e.Fingerprint, e.Reason)
	}
	return fmt.Sprintf("host key for %s is not known: %s %s; add it to known_hosts (ssh-keyscan) or choose accept-new",
		e.Host, e.KeyType, e.Fingerprint)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// appendMu serialises accept-new appends within the process; O_APPEND with
// one write per line keeps other processes' lines whole.
var appendMu sync.Mutex

// existingFiles returns the files in paths that exist, in order, without
// duplicates.
func existingFiles(paths ...[]string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, ps := range paths {
		for _, p := range ps {
			if seen[p] {
				continue
			}
			seen[p] = true
			_, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sshtransport: known_hosts: %w", err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// hostKeyChecker checks one hop's host key against the known_hosts files.
type hostKeyChecker struct {
	h     *hostConfig
	files []string
	db    *skeema.HostKeyDB // nil when no file exists
	// acceptNew appends an unknown key to writeTo instead of refusing it.
	acceptNew bool
	writeTo   string
}

// newHostKeyChecker loads the known_hosts files for h (its own and extra).
func newHostKeyChecker(h *hostConfig, extra []string, acceptNew bool) (*hostKeyChecker, error) {
	files, err := existingFiles(h.UserKnownHosts, h.GlobalKnownHosts, extra)
	if err != nil {
		return nil, err
	}
	c := &hostKeyChecker{h: h, files: files, acceptNew: acceptNew || h.AcceptNew}
	if len(h.UserKnownHosts) > 0 {
		c.writeTo = h.UserKnownHosts[0]
	} else if len(extra) > 0 {
		c.writeTo = extra[0]
	}
	if len(files) > 0 {
		if c.db, err = skeema.NewDB(files...); err != nil {
			return nil, fmt.Errorf("sshtransport: known_hosts: %w", err)
		}
	}
	return c, nil
}

// algorithms returns the host key algorithms to offer: the types known for
// the host, so that a host known only by one key type is asked for that
// one, or nil (the defaults) when the host is not known.
func (c *hostKeyChecker) algorithms() []string {
	if c.db == nil {
		return nil
	}
	return c.db.HostKeyAlgorithms(c.h.keyAddr())
}

// check is the ssh.HostKeyCallback. hostname is h.keyAddr().
func (c *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := error(&knownhosts.KeyError{})
	if c.db != nil {
		err = c.db.HostKeyCallback()(hostname, remote, key)
	}
	if err == nil {
		return nil
	}
	hkErr := &HostKeyError{
		Host:        knownhosts.Normalize(hostname),
		KeyType:     key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key),
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		hkErr.Err = ErrHostKeyRevoked
		return hkErr
	case errors.As(err, &ke) && len(ke.Want) > 0:
		hkErr.Err = ErrHostKeyChanged
		for _, w := range ke.Want {
			hkErr.Known = append(hkErr.Known, fmt.Sprintf("%s:%d", w.Filename, w.Line))
		}
		return hkErr
	case errors.As(err, &ke):
		if !c.acceptNew || c.writeTo == "" {
			hkErr.Err = ErrUnknownHostKey
			return hkErr
		}
		return c.appendKey(hostname, remote, key, hkErr)
	}
	// A host certificate that no trusted authority signed, or signed for
	// other names.
	hkErr.Err = ErrUnknownHostKey
	hkErr.Reason = err.Error()
	return hkErr
}

// appendKey adds key for hostname to c.writeTo, unless a concurrent dial
// already did; a key that changed meanwhile is refused.
func (c *hostKeyChecker) appendKey(hostname string, remote net.Addr, key ssh.PublicKey, hkErr *HostKeyError) error {
	appendMu.Lock()
	defer appendMu.Unlock()
	if _, err := os.Stat(c.writeTo); err == nil {
		cb, err := knownhosts.New(c.writeTo)
		if err != nil {
			return fmt.Errorf("sshtransport: known_hosts: %w", err)
		}
		err = cb(hostname, remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil // added meanwhile
		case errors.As(err, &ke) && len(ke.Want) > 0:
			hkErr.Err = ErrHostKeyChanged
			for _, w := range ke.Want {
				hkErr.Known = append(hkErr.Known, fmt.Sprintf("%s:%d", w.Filename, w.Line))
			}
			return hkErr
		}
	}
	name := knownhosts.Normalize(hostname)
	if c.h.HashKnownHosts {
		name = knownhosts.HashHostname(name)
	}
	line := knownhosts.Line([]string{name}, key) + "\n"
	if fi, err := os.Stat(c.writeTo); err == nil && fi.Size() > 0 && !endsWithNewline(c.writeTo, fi.Size()) {
		line = "\n" + line
	}
	if err := os.MkdirAll(filepath.Dir(c.writeTo), 0o700); err != nil {
		return fmt.Errorf("sshtransport: known_hosts: %w", err)
	}
	f, err := os.OpenFile(c.writeTo, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sshtransport: known_hosts: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("sshtransport: known_hosts: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sshtransport: known_hosts: %w", err)
	}
	return nil
}

// endsWithNewline reports whether the file of the given size ends with '\n'.
func endsWithNewline(path string, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}
