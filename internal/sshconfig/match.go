package sshconfig

import "strings"

// matchPattern reports whether s matches pattern, where '*' matches any run
// of characters (also none) and '?' exactly one. Case matters.
func matchPattern(s, pattern string) bool {
	for {
		if pattern == "" {
			return s == ""
		}
		if pattern[0] == '*' {
			pattern = strings.TrimLeft(pattern, "*")
			if pattern == "" {
				return true
			}
			for i := 0; i < len(s); i++ {
				if matchPattern(s[i:], pattern) {
					return true
				}
			}
			return false
		}
		if s == "" {
			return false
		}
		if pattern[0] != '?' && pattern[0] != s[0] {
			return false
		}
		s, pattern = s[1:], pattern[1:]
	}
}

// matchList matches s against a comma-separated list of patterns, each of
// which may be negated with '!': -1 when a negated pattern matches, 1 when
// a plain one does (and no negated one), 0 otherwise. With lower, the
// patterns are lowercased first (s must then be lowercase).
func matchList(s, list string, lower bool) int {
	positive := false
	subs := strings.Split(list, ",")
	if list == "" || strings.HasSuffix(list, ",") {
		subs = subs[:len(subs)-1]
	}
	for _, sub := range subs {
		neg := strings.HasPrefix(sub, "!")
		if neg {
			sub = sub[1:]
		}
		if len(sub) >= 1023 {
			return 0
		}
		if lower {
			sub = asciiLower(sub)
		}
		if matchPattern(s, sub) {
			if neg {
				return -1
			}
			positive = true
		}
	}
	if positive {
		return 1
	}
	return 0
}

// asciiLower lowercases A-Z only, as C's tolower in the C locale.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
