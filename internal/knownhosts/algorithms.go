package knownhosts

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// defaultAlgorithms is OpenSSH 9.2's default HostKeyAlgorithms, in its
// order of preference (KEX_DEFAULT_PK_ALG).
var defaultAlgorithms = []string{
	"ssh-ed25519-cert-v01@openssh.com",
	"ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"ecdsa-sha2-nistp384-cert-v01@openssh.com",
	"ecdsa-sha2-nistp521-cert-v01@openssh.com",
	"sk-ssh-ed25519-cert-v01@openssh.com",
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"rsa-sha2-512-cert-v01@openssh.com",
	"rsa-sha2-256-cert-v01@openssh.com",
	"ssh-ed25519",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	"rsa-sha2-512",
	"rsa-sha2-256",
}

// allAlgorithms is every host key algorithm OpenSSH 9.2 knows, in its own
// order (what "ssh -Q HostKeyAlgorithms" prints); patterns in
// HostKeyAlgorithms expand in this order.
var allAlgorithms = []string{
	"ssh-ed25519",
	"ssh-ed25519-cert-v01@openssh.com",
	"sk-ssh-ed25519@openssh.com",
	"sk-ssh-ed25519-cert-v01@openssh.com",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp384-cert-v01@openssh.com",
	"ecdsa-sha2-nistp521",
	"ecdsa-sha2-nistp521-cert-v01@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
	"ssh-dss",
	"ssh-dss-cert-v01@openssh.com",
	"ssh-rsa",
	"ssh-rsa-cert-v01@openssh.com",
	"rsa-sha2-256",
	"rsa-sha2-256-cert-v01@openssh.com",
	"rsa-sha2-512",
	"rsa-sha2-512-cert-v01@openssh.com",
}

// DefaultAlgorithms returns OpenSSH 9.2's default HostKeyAlgorithms list.
func DefaultAlgorithms() []string { return slices.Clone(defaultAlgorithms) }

// keyTypeOf returns the plain key type (as in a key's encoding) that an
// algorithm proves, and whether the algorithm is a certificate one.
func keyTypeOf(alg string) (keyType string, cert bool) {
	t, _ := blobType(alg)
	switch t {
	case ssh.CertAlgoED25519v01:
		return ssh.KeyAlgoED25519, true
	case ssh.CertAlgoSKED25519v01:
		return ssh.KeyAlgoSKED25519, true
	case ssh.CertAlgoECDSA256v01:
		return ssh.KeyAlgoECDSA256, true
	case ssh.CertAlgoECDSA384v01:
		return ssh.KeyAlgoECDSA384, true
	case ssh.CertAlgoECDSA521v01:
		return ssh.KeyAlgoECDSA521, true
	case ssh.CertAlgoSKECDSA256v01:
		return ssh.KeyAlgoSKECDSA256, true
	case ssh.CertAlgoDSAv01:
		return ssh.KeyAlgoDSA, true
	case ssh.CertAlgoRSAv01:
		return ssh.KeyAlgoRSA, true
	}
	return t, false
}

// namesCat appends the names of b that are not in a yet.
func namesCat(a, b []string) []string {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for n := range strings.SplitSeq(s, ",") {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// ExpandAlgorithms turns a HostKeyAlgorithms value into the list it
// stands for, as OpenSSH's kex_assemble_names does: "" is the default
// list; "+list" appends to it, "-list" removes from it, "^list" puts the
// names first; anything else replaces it. Names may be patterns with '*'
// and '?'. reorder reports whether the list is then reordered by what
// known_hosts holds (only for "", "+" and "-", as OpenSSH does). A name or
// pattern that matches no algorithm OpenSSH knows is an error, and so is an
// empty result.
func ExpandAlgorithms(value string) (algs []string, reorder bool, err error) {
	if value == "" {
		return DefaultAlgorithms(), true, nil
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("knownhosts: HostKeyAlgorithms %q: %s", value, fmt.Sprintf(format, a...))
	}
	body := value
	if strings.ContainsAny(value[:1], "+-^") {
		body = value[1:]
	}
	for _, p := range splitList(body) {
		if value[0] == '-' {
			break // OpenSSH checks no name of a list to remove
		}
		if strings.HasPrefix(p, "!") {
			return nil, false, bad("negated names are not allowed")
		}
		// OpenSSH accepts its short key type names here too ("RSA",
		// "ed25519"), though they then match no algorithm.
		short := slices.Contains([]string{"rsa", "dsa", "ecdsa", "ed25519", "ecdsa-sk", "ed25519-sk"}, asciiLower(p))
		if !short && !slices.ContainsFunc(allAlgorithms, func(a string) bool { return matchPattern(a, p) }) {
			return nil, false, bad("unknown algorithm %q", p)
		}
	}
	var list []string
	switch value[0] {
	case '-':
		for _, a := range defaultAlgorithms {
			if matchList(a, body, false) != 1 {
				list = append(list, a)
			}
		}
		if len(list) == 0 {
			return nil, false, bad("no algorithm left")
		}
		return list, true, nil
	case '+':
		list, reorder = namesCat(defaultAlgorithms, splitList(body)), true
	case '^':
		list = namesCat(splitList(body), defaultAlgorithms)
	default:
		list = splitList(body)
	}
	var out []string
	for _, p := range list {
		var matching []string
		for _, a := range allAlgorithms {
			if matchPattern(a, p) {
				matching = append(matching, a)
			}
		}
		out = namesCat(out, matching)
	}
	if len(out) == 0 {
		return nil, false, bad("no algorithm left")
	}
	return out, reorder, nil
}

// knownType reports whether a plain line of the given key type is known
// for the host, as OpenSSH's lookup_key_in_hostkeys_by_type decides it: the
// first matching plain line of that type, unless its key is also on a
// matching @revoked line.
func knownType(entries []Entry, keyType string) bool {
	for i := range entries {
		e := &entries[i]
		if e.Marker != MarkerNone || e.Key.Type() != keyType {
			continue
		}
		for _, r := range entries {
			if r.Marker == MarkerRevoked && equalPublic(e.Key, r.Key) {
				return false
			}
		}
		return true
	}
	return false
}

// HostKeyAlgorithms returns the host key algorithms to offer a host, in
// order, for the HostKeyAlgorithms value config ("" when not set), as
// OpenSSH 9.2 orders them (sshconnect2.c order_hostkeyalgs): an explicit or
// "^" list is used as written; otherwise, if the first algorithm's plain
// key type is known for the host the list stays as it is, and if not, the
// algorithms whose plain key type is known (and every certificate
// algorithm when an @cert-authority line matches the host) move to the
// front, keeping their order. Only lines under the host's own lookup name
// count: there is no port-less fallback here.
func (db *DB) HostKeyAlgorithms(h Host, config string) ([]string, error) {
	algs, reorder, err := ExpandAlgorithms(config)
	if err != nil || !reorder {
		return algs, err
	}
	entries := db.Lookup(h.LookupName())
	if t, _ := keyTypeOf(algs[0]); knownType(entries, t) {
		return algs, nil
	}
	hasCA := slices.ContainsFunc(entries, func(e Entry) bool { return e.Marker == MarkerCA })
	var first, last []string
	for _, a := range algs {
		t, cert := keyTypeOf(a)
		if (cert && hasCA) || knownType(entries, t) {
			first = append(first, a)
		} else {
			last = append(last, a)
		}
	}
	return append(first, last...), nil
}
