package knownhosts

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
)

// matchPattern reports whether s matches the glob pattern p, in which '*'
// stands for any run of bytes (also none) and '?' for exactly one byte.
// Every other byte stands for itself; there are no classes and no escapes.
func matchPattern(s, p string) bool {
	for {
		if p == "" {
			return s == ""
		}
		if p[0] == '*' {
			// Collapse a run of stars; a trailing star matches the rest.
			for p != "" && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], p) {
					return true
				}
			}
			return false
		}
		if s == "" {
			return false
		}
		if p[0] != '?' && p[0] != s[0] {
			return false
		}
		s, p = s[1:], p[1:]
	}
}

// matchList matches s against a comma-separated list of patterns, each of
// which may be negated with a leading '!'. It returns -1 when a negated
// pattern matches (whatever the other patterns say), 1 when a plain one
// does, and 0 otherwise. With lower, the patterns are lowercased first (s
// must already be).
func matchList(s, list string, lower bool) int {
	got := 0
	for pat := range strings.SplitSeq(list, ",") {
		negated := strings.HasPrefix(pat, "!")
		if negated {
			pat = pat[1:]
		}
		if len(pat) >= 1023 {
			// OpenSSH gives up on a sub-pattern this long.
			return 0
		}
		if lower {
			pat = asciiLower(pat)
		}
		if matchPattern(s, pat) {
			if negated {
				return -1
			}
			got = 1
		}
	}
	return got
}

// asciiLower lowercases ASCII letters only, as C's tolower does in the C
// locale.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

const hashMagic = "|1|"

// matchNames reports whether the names field of a known_hosts line matches
// the lookup name. A hashed field ("|1|salt|hash") is one name, compared
// exactly; ok is false when such a field is malformed, which makes the
// whole line invalid. A plain field is a pattern list, matched without
// regard to case; a negated pattern that matches excludes the line.
func matchNames(name, field string) (match, ok bool) {
	if strings.HasPrefix(field, "|") {
		salt, ok := hashSalt(field)
		if !ok {
			return false, false
		}
		return hashWithSalt(name, salt) == field, true
	}
	return matchList(asciiLower(name), field, true) == 1, true
}

// hashSalt extracts the 20-byte salt of a hashed names field.
func hashSalt(field string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(field, hashMagic)
	if !ok {
		return nil, false
	}
	enc, _, ok := strings.Cut(rest, "|")
	if !ok || enc == "" || len(enc) > 1024 {
		return nil, false
	}
	salt, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(salt) != sha1.Size {
		return nil, false
	}
	return salt, true
}

func hashWithSalt(name string, salt []byte) string {
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hashMagic + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// HashName returns name hashed as OpenSSH's HashKnownHosts writes it,
// "|1|salt|hash" with a fresh random salt. The name is hashed as given:
// pass it lowercased, as [LookupName] returns it, or lookups will miss it.
func HashName(name string) string {
	salt := make([]byte, sha1.Size)
	if _, err := rand.Read(salt); err != nil {
		panic("knownhosts: no randomness: " + err.Error())
	}
	return hashWithSalt(name, salt)
}

// HashMatches reports whether the hashed names field field ("|1|salt|hash")
// is the hash of name.
func HashMatches(field, name string) bool {
	salt, ok := hashSalt(field)
	return ok && hashWithSalt(name, salt) == field
}

// LookupName returns the name under which the key of a host is looked up in
// known_hosts and written to it, as OpenSSH forms it: the HostKeyAlias when
// one is set, lowercased and without a port; otherwise the host name,
// lowercased, alone for port 22 (or 0) and as "[host]:port" for any other
// port.
func LookupName(host string, port int, alias string) string {
	if alias != "" {
		return asciiLower(alias)
	}
	host = asciiLower(host)
	if port == 0 || port == 22 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}
