package sshconfig

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// isCSpace reports the characters C's isspace accepts in the C locale.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// cStrtol reads a decimal number the way strtol does: blanks, a sign, then
// digits. It returns the value (saturated), the rest of s and whether any
// digit was read.
func cStrtol(s string) (v int64, rest string, ok bool) { return cStrtolBase(s, 10) }

// cStrtolBase is cStrtol for base 8 or 10 (no prefix is read).
func cStrtolBase(s string, base int64) (v int64, rest string, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && int64(s[i]-'0') < base {
		d := int64(s[i] - '0')
		if v <= (math.MaxInt64-d)/base {
			v = v*base + d
		} else {
			v = math.MaxInt64
		}
		i++
	}
	if i == start {
		return 0, s, false
	}
	if neg {
		v = -v
	}
	return v, s[i:], true
}

// strtonum parses a whole decimal number in [lo, hi], as OpenSSH's
// strtonum does.
func strtonum(s string, lo, hi int64) (int64, error) {
	v, rest, ok := cStrtol(s)
	if !ok || rest != "" {
		return 0, errors.New("invalid")
	}
	if v < lo {
		return 0, errors.New("too small")
	}
	if v > hi {
		return 0, errors.New("too large")
	}
	return v, nil
}

// convtime parses an OpenSSH time value ("90", "1m30s", "1w2d") into
// seconds; -1 means invalid.
func convtime(s string) int64 {
	if s == "" {
		return -1
	}
	var total int64
	p := s
	for p != "" {
		secs, rest, ok := cStrtol(p)
		if !ok || secs < 0 {
			return -1
		}
		mult := int64(1)
		if rest != "" {
			switch rest[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 7 * 86400
			default:
				return -1
			}
			rest = rest[1:]
		}
		if secs > math.MaxInt32/mult {
			return -1
		}
		secs *= mult
		if total > math.MaxInt32-secs {
			return -1
		}
		total += secs
		p = rest
	}
	return total
}

// tildeExpand expands a leading "~", "~/path" or "~user/path" from the
// passwd entries (never $HOME), as OpenSSH's tilde_expand does.
func (e *Env) tildeExpand(p string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	rest := p[1:]
	var userName, path string
	switch {
	case rest == "":
	case rest[0] == '/':
		path = strings.TrimLeft(rest, "/")
	default:
		userName = rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			userName = rest[:i]
			path = strings.TrimLeft(rest[i+1:], "/")
		}
	}
	home := e.Home
	if userName != "" {
		h, err := e.homeOf(userName)
		if err != nil {
			return "", fmt.Errorf("~%s: no such user", userName)
		}
		home = h
	}
	if home == "" || !strings.HasSuffix(home, "/") {
		home += "/"
	}
	return home + path, nil
}

// expand replaces %-tokens (when tokens is not nil) and, with dollar,
// ${VAR} references in s, as OpenSSH's percent_dollar_expand does: an
// unknown token, a lone trailing '%', an unclosed or empty ${} and an unset
// variable are errors.
func (e *Env) expand(s string, tokens map[byte]string, dollar bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if dollar && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("environment variable %q missing closing '}'", s[i+2:])
			}
			name := s[i+2 : i+2+end]
			if name == "" {
				return "", errors.New("zero-length environment variable")
			}
			v, ok := e.lookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable ${%s} is not set", name)
			}
			b.WriteString(v)
			i += 2 + end
			continue
		}
		if c != '%' || tokens == nil {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("%q ends with a lone %%", s)
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := tokens[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown token %%%c", s[i])
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
