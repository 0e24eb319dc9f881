package sshconfig

import (
	"fmt"
	"net/netip"
	"strings"
)

// isAddrFast is OpenSSH's quick test for a name that looks like an
// address: it has a '%' or a ':', or only digits and dots.
func isAddrFast(name string) bool {
	if strings.ContainsAny(name, "%:") {
		return true
	}
	return strings.Trim(name, "0123456789.") == ""
}

// isAddr reports whether ssh takes name for an address (which it neither
// lowercases nor canonicalises by DNS).
func isAddr(name string) bool {
	if isAddrFast(name) {
		return true
	}
	_, ok := numericHost(name)
	return ok
}

// numericHost parses name as the C library parses a numeric host (IPv4 in
// inet_aton's forms, "127.1", "0x7f.0.0.1", "010.0.0.1"; or IPv6) and
// returns it in getnameinfo's form.
func numericHost(name string) (string, bool) {
	if v, ok := inetAton(name); ok {
		return fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff, v&0xff), true
	}
	if strings.Contains(name, "%") {
		return "", false
	}
	a, err := netip.ParseAddr(name)
	if err != nil || !a.Is6() {
		return "", false
	}
	return formatIPv6(a.As16()), true
}

// inetAton parses the IPv4 forms inet_aton accepts: one to four parts, in
// decimal, octal (leading 0) or hex (0x), the last part filling the
// remaining bytes.
func inetAton(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	var vals []uint64
	for _, p := range parts {
		v, ok := parseCUint(p)
		if !ok {
			return 0, false
		}
		vals = append(vals, v)
	}
	n := len(vals)
	var res uint64
	for i := 0; i < n-1; i++ {
		if vals[i] > 0xff {
			return 0, false
		}
		res |= vals[i] << (24 - 8*uint(i))
	}
	last := vals[n-1]
	if last > 0xffffffff>>(8*uint(n-1)) {
		return 0, false
	}
	return uint32(res | last), true
}

// parseCUint parses an unsigned number as strtoul with base 0 does (no
// sign or blanks accepted here).
func parseCUint(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := uint64(10)
	digits := p
	switch {
	case len(p) > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, digits = 16, p[2:]
		if digits == "" {
			return 0, false
		}
	case len(p) > 1 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	var v uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 0xffffffff {
			return 0, false
		}
	}
	return v, true
}

// formatIPv6 formats an address as glibc's inet_ntop does: lowercase hex,
// the longest run of two or more zero groups as "::", and an embedded IPv4
// address for the v4-mapped and v4-compatible forms.
func formatIPv6(b [16]byte) string {
	var w [8]int
	for i := range w {
		w[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	bestBase, bestLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestBase, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		bestBase = -1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			fmt.Fprintf(&sb, "%d.%d.%d.%d", b[12], b[13], b[14], b[15])
			return sb.String()
		}
		fmt.Fprintf(&sb, "%x", w[i])
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		sb.WriteByte(':')
	}
	return sb.String()
}
