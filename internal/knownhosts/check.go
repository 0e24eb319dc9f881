package knownhosts

import (
	"bytes"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// Status is the verdict on a host key.
type Status int

const (
	// New means no line knows the host: no plain line (or, for a
	// certificate, no @cert-authority line) matches its name.
	New Status = iota
	// OK means the key is known for the host, or it is a valid certificate
	// signed by a CA trusted for the host.
	OK
	// Changed means the host is known, but by other keys: a matching plain
	// line of any key type holds a key that is not this one.
	Changed
	// Revoked means the key, or the CA that signed the certificate, is on
	// an @revoked line that matches the host's name.
	Revoked
)

func (s Status) String() string {
	switch s {
	case New:
		return "new"
	case OK:
		return "ok"
	case Changed:
		return "changed"
	case Revoked:
		return "revoked"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Host names a host as OpenSSH looks it up.
type Host struct {
	Name  string // the HostName the connection is for (any case)
	Port  int    // its port; 0 or 22 is the default port
	Alias string // HostKeyAlias, or ""
}

// LookupName is [LookupName] for h.
func (h Host) LookupName() string { return LookupName(h.Name, h.Port, h.Alias) }

// principal is the name a host certificate must list: the alias, else the
// host name, lowercased and without the port.
func (h Host) principal() string {
	if h.Alias != "" {
		return asciiLower(h.Alias)
	}
	return asciiLower(h.Name)
}

// Result is the outcome of [DB.Check].
type Result struct {
	Status Status
	// Name is the lookup name the verdict is for.
	Name string
	// Key is the key judged last: the offered key, or, for a host
	// certificate that was not accepted as such, its plain key (what
	// accept-new records).
	Key ssh.PublicKey
	// Found is the entry that decided: the matching key or CA for OK, the
	// @revoked line for Revoked. Nil otherwise.
	Found *Entry
	// Known lists, for Changed, the plain lines that hold the other keys.
	Known []Entry
	// CertReason says why a host certificate was not accepted as a
	// certificate, when one was offered: no CA trusted for the host signed
	// it, or it is not valid for the host. Empty otherwise.
	CertReason string
	// Fallback is true when the key was found under the host name without
	// the port (OpenSSH's fallback for a host on a non-default port).
	Fallback bool
}

// Check judges the key a host offered, as OpenSSH 9.2's ssh does
// (sshconnect.c check_host_key with hostfile.c's checks), without
// CheckHostIP:
//
//   - A plain key is OK if a matching plain line holds it. Otherwise a
//     matching plain line of any type makes it Changed, and no matching line
//     makes it New. Then, whatever that said, a matching @revoked line with
//     the key makes it Revoked.
//   - A certificate is OK if a matching @cert-authority line holds the key
//     that signed it and the certificate is valid now for the host (a host
//     certificate, its principals empty or listing the alias or host name,
//     no critical options, a CA signature that verifies and is not SHA-1).
//     A matching @revoked line with its key or its CA makes it Revoked.
//     Otherwise it is judged again as its plain key, which can then be OK,
//     Changed, New or Revoked as above.
//   - When the verdict is New, there is no alias and the port is not 22,
//     the key is looked up again under the bare host name; only OK counts
//     there (with Fallback set): Changed or Revoked under the bare name
//     leave the verdict New.
func (db *DB) Check(h Host, key ssh.PublicKey, now time.Time) Result {
	return db.check(h, h.LookupName(), key, now, true)
}

func (db *DB) check(h Host, name string, key ssh.PublicKey, now time.Time, fallback bool) Result {
	entries := db.Lookup(name)
	var certReason string
	for {
		r := judge(entries, key)
		r.Name, r.CertReason = name, certReason
		cert, isCert := key.(*ssh.Certificate)
		switch r.Status {
		case OK:
			if !isCert {
				return r
			}
			reason := checkHostCert(cert, h.principal(), now)
			if reason == "" {
				return r
			}
			certReason = reason
		case New:
			if fallback && h.Alias == "" && h.Port != 0 && h.Port != 22 {
				bare := Host{Name: h.Name}
				fr := db.check(h, bare.LookupName(), key, now, false)
				if fr.Status == OK {
					fr.Name, fr.Fallback = name, true
					if fr.CertReason == "" {
						fr.CertReason = certReason
					}
					return fr
				}
				if certReason == "" {
					certReason = fr.CertReason
				}
			}
			if !isCert {
				r.CertReason = certReason
				return r
			}
			if certReason == "" {
				certReason = "no @cert-authority line for " + name + " holds the key that signed it"
			}
		default: // Revoked, or Changed (only for a plain key)
			return r
		}
		// Judge the certificate's plain key.
		key = cert.Key
	}
}

// judge is OpenSSH's check_hostkeys_by_key_or_type for one key against the
// entries that match the host's name, followed by its revocation check.
func judge(entries []Entry, key ssh.PublicKey) Result {
	r := Result{Status: New, Key: key}
	cert, isCert := key.(*ssh.Certificate)
	want := MarkerNone
	if isCert {
		want = MarkerCA
	}
	for i := range entries {
		e := &entries[i]
		if e.Marker != want {
			continue
		}
		if isCert {
			if equalPublic(cert.SignatureKey, e.Key) {
				r.Status, r.Found = OK, e
				break
			}
			continue
		}
		if equalKey(key, e.Key) {
			r.Status, r.Found, r.Known = OK, e, nil
			break
		}
		r.Status = Changed
		r.Known = append(r.Known, *e)
	}
	for i := range entries {
		e := &entries[i]
		if e.Marker != MarkerRevoked {
			continue
		}
		if equalPublic(key, e.Key) || (isCert && equalPublic(cert.SignatureKey, e.Key)) {
			return Result{Status: Revoked, Key: key, Found: e}
		}
	}
	return r
}

// plain returns a certificate's key, or k.
func plain(k ssh.PublicKey) ssh.PublicKey {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key
	}
	return k
}

// equalPublic compares the public keys, ignoring certificates.
func equalPublic(a, b ssh.PublicKey) bool {
	return bytes.Equal(plain(a).Marshal(), plain(b).Marshal())
}

// equalKey compares keys exactly (a certificate equals only itself).
func equalKey(a, b ssh.PublicKey) bool { return bytes.Equal(a.Marshal(), b.Marshal()) }

// checkHostCert returns why cert is not valid for principal now, or "".
func checkHostCert(cert *ssh.Certificate, principal string, now time.Time) string {
	if cert.CertType != ssh.HostCert {
		return "certificate invalid: not a host certificate"
	}
	if err := verifyCertSignature(cert); err != nil {
		return err.Error()
	}
	switch cert.Signature.Format {
	case ssh.KeyAlgoRSA, ssh.KeyAlgoDSA, ssh.CertAlgoRSAv01:
		return "certificate signed with disallowed algorithm " + cert.Signature.Format
	}
	t := uint64(now.Unix())
	if now.Unix() < 0 {
		t = 0
	}
	if t < cert.ValidAfter {
		return "certificate invalid: not yet valid"
	}
	if t >= cert.ValidBefore {
		return "certificate invalid: expired"
	}
	if len(cert.ValidPrincipals) > 0 {
		found := false
		for _, p := range cert.ValidPrincipals {
			if p == principal {
				found = true
				break
			}
		}
		if !found {
			return fmt.Sprintf("certificate invalid: name %q is not a listed principal %q", principal, cert.ValidPrincipals)
		}
	}
	if len(cert.CriticalOptions) > 0 {
		return "certificate contains unsupported critical options"
	}
	return ""
}

// verifyCertSignature checks the CA's signature over the certificate.
func verifyCertSignature(cert *ssh.Certificate) error {
	c := *cert
	c.Signature = nil
	b := c.Marshal()
	// The encoding ends with the signature's length (0 here).
	if err := cert.SignatureKey.Verify(b[:len(b)-4], cert.Signature); err != nil {
		return fmt.Errorf("certificate signature does not verify: %v", err)
	}
	return nil
}
