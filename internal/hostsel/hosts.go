package hostsel

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// maxSlots bounds the N/ prefix.
const maxSlots = 100000

// Host is one SSH login: a host and what was written with it.
type Host struct {
	Name  string // host name, ssh_config alias or IP address (IPv6 without brackets)
	User  string // login name; "" when not written (ssh_config or the local user decides)
	Port  int    // 0 when not written (ssh_config or 22 decides)
	Slots int    // job slots from the N/ prefix; 0 when not written
}

// Login returns "[user@]name[:port]", with an IPv6 address in brackets:
// the form Parse reads back, without the slots.
func (h Host) Login() string {
	var b strings.Builder
	if h.User != "" {
		b.WriteString(h.User + "@")
	}
	if strings.Contains(h.Name, ":") {
		b.WriteString("[" + h.Name + "]")
	} else {
		b.WriteString(h.Name)
	}
	if h.Port != 0 {
		b.WriteString(":" + strconv.Itoa(h.Port))
	}
	return b.String()
}

// String returns "[N/][user@]name[:port]", the form Parse reads back.
func (h Host) String() string {
	if h.Slots != 0 {
		return strconv.Itoa(h.Slots) + "/" + h.Login()
	}
	return h.Login()
}

// key is what makes two hosts the same login.
type key struct {
	user, name string
	port       int
}

func (h Host) key() key { return key{h.User, h.Name, h.Port} }

// Parse reads a host list as written after -w: items separated by commas
// or whitespace, each "[N/][user@]NODESET[:port]" or
// "[N/][user@][IPv6]:port". The node set expands as in Expand, and the
// user, port and slots apply to each of its hosts. Duplicate logins are
// dropped, the first kept. Errors are *SyntaxError with Source "hosts".
func Parse(s string) ([]Host, error) {
	return parseHosts(newParser(s, "hosts", 0, MaxHosts))
}

func parseHosts(p *parser) ([]Host, error) {
	var out []Host
	err := p.list(func() error {
		hs, err := p.login()
		out = append(out, hs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return Dedup(out), nil
}

// itemEnd returns the index where the item at p.pos ends: the first comma
// or whitespace outside brackets.
func (p *parser) itemEnd() int {
	depth := 0
	for i := p.pos; i < len(p.src); i++ {
		switch r := p.src[i]; {
		case r == '[':
			depth++
		case r == ']':
			if depth > 0 {
				depth--
			}
		case depth == 0 && (r == ',' || isSpace(r)):
			return i
		}
	}
	return len(p.src)
}

// login parses one "[N/][user@]host[:port]" item.
func (p *parser) login() ([]Host, error) {
	start, end := p.pos, p.itemEnd()
	item := string(p.src[start:end])
	if item == ":" {
		return nil, p.errAt(start, "':' (the local computer in GNU parallel) is not a host; give no hosts to run locally")
	}
	var h Host
	// N/ prefix.
	i := p.pos
	for i < end && isDigit(p.src[i]) {
		i++
	}
	if i > p.pos && i < end && p.src[i] == '/' {
		n, err := strconv.Atoi(string(p.src[p.pos:i]))
		if err != nil || n < 1 || n > maxSlots {
			return nil, p.errAt(p.pos, "slots %s must be 1 to %d", string(p.src[p.pos:i]), maxSlots)
		}
		h.Slots = n
		p.pos = i + 1
	}
	// user@ prefix: up to the first '@' of the item.
	at := -1
	for j := p.pos; j < end; j++ {
		if p.src[j] == '@' {
			at = j
			break
		}
	}
	if at >= 0 {
		if at == p.pos {
			return nil, p.errAt(at, "empty user name before '@'")
		}
		if p.src[p.pos] == '-' {
			return nil, p.errAt(p.pos, "a user name cannot start with '-'")
		}
		for j := p.pos; j < at; j++ {
			if r := p.src[j]; !isNameRune(r) {
				return nil, p.errAt(j, "unexpected %s in user name", describe(r))
			}
		}
		h.User = string(p.src[p.pos:at])
		p.pos = at + 1
	}
	rest := string(p.src[p.pos:end])
	var names []string
	switch {
	case strings.HasPrefix(rest, "[") && strings.Contains(rest[:max(strings.IndexByte(rest, ']'), 0)], ":"):
		// [IPv6] or [IPv6]:port.
		closeAt := strings.IndexByte(rest, ']')
		addr := rest[1:closeAt]
		if _, err := netip.ParseAddr(addr); err != nil {
			return nil, p.errAt(p.pos+1, "bad IPv6 address %q", addr)
		}
		names = []string{addr}
		p.pos += len([]rune(rest[:closeAt+1]))
	case strings.Count(rest, ":") > 1 && !strings.Contains(rest, "["):
		// A bare IPv6 address: it cannot carry a port.
		if _, err := netip.ParseAddr(rest); err != nil {
			return nil, p.errAt(p.pos, "bad IPv6 address %q (write [ADDR]:PORT to give a port)", rest)
		}
		names = []string{rest}
		p.pos = end
	default:
		var err error
		if names, err = p.names(func(r rune) bool { return r == ':' }); err != nil {
			return nil, err
		}
	}
	if p.pos < end && p.src[p.pos] == ':' {
		colon := p.pos
		p.pos++
		ds, _, err := p.number()
		if err != nil {
			return nil, err
		}
		port, _ := strconv.Atoi(ds)
		if ds == "" || port < 1 || port > 65535 {
			return nil, p.errAt(colon+1, "port %q must be 1 to 65535", string(p.src[colon+1:end]))
		}
		h.Port = port
	}
	if p.pos < end {
		return nil, p.errAt(p.pos, "unexpected %s", describe(p.src[p.pos]))
	}
	out := make([]Host, len(names))
	for k, n := range names {
		out[k] = h
		out[k].Name = n
	}
	return out, nil
}

// Dedup returns hosts with duplicate logins (same user, name and port)
// removed, the first of each kept with its slots, in their first order.
func Dedup(hosts []Host) []Host {
	seen := make(map[key]bool, len(hosts))
	var out []Host
	for _, h := range hosts {
		if !seen[h.key()] {
			seen[h.key()] = true
			out = append(out, h)
		}
	}
	return out
}

// ParseHostfile reads a hostfile: one host list per line, as Parse reads
// (so "4/alice@node[1-8]:2222" and "node1,node2" both work), with '#'
// starting a comment anywhere on a line and blank lines skipped. name
// names the file in errors ("FILE:3: column 7: ..."). The result is
// deduplicated like Parse's.
func ParseHostfile(r io.Reader, name string) ([]Host, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var out []Host
	budget := MaxHosts
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		p := newParser(text, name, line, budget)
		hs, err := parseHosts(p)
		if err != nil {
			return nil, err
		}
		budget = p.budget
		out = append(out, hs...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hostfile %s: %w", name, err)
	}
	return Dedup(out), nil
}

// ReadHostfile reads the hostfile at path with ParseHostfile.
func ReadHostfile(path string) ([]Host, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hostfile: %w", err)
	}
	defer f.Close()
	return ParseHostfile(f, path)
}

// Matcher tells whether a host name is excluded: by name, by node set, or
// by a pattern in which '*' matches any run of characters and '?' one
// character ("web*", "rack[1-2]-*").
type Matcher struct {
	names map[string]bool
	globs []string
}

// ParseExclude reads an exclusion list as written after -x: items
// separated by commas or whitespace, each a node set, possibly with '*'
// and '?'. Exclusions name hosts, never logins: "alice@n1" is an error.
// Errors are *SyntaxError with Source "exclude".
func ParseExclude(s string) (*Matcher, error) {
	names, err := expand(s, "exclude", 0, true)
	if err != nil {
		return nil, err
	}
	m := &Matcher{names: map[string]bool{}}
	for _, n := range names {
		if strings.ContainsAny(n, "*?") {
			m.globs = append(m.globs, n)
		} else {
			m.names[n] = true
		}
	}
	return m, nil
}

// Match reports whether the host name is excluded.
func (m *Matcher) Match(name string) bool {
	if m.names[name] {
		return true
	}
	for _, g := range m.globs {
		if globMatch(g, name) {
			return true
		}
	}
	return false
}

// globMatch matches '*' and '?' only; every other character is literal.
func globMatch(pat, s string) bool {
	// Iterative matching with one backtrack point for the last '*'.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == s[i]):
			p++
			i++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// Exclude returns the hosts whose names m does not match, in order.
func Exclude(hosts []Host, m *Matcher) []Host {
	var out []Host
	for _, h := range hosts {
		if !m.Match(h.Name) {
			out = append(out, h)
		}
	}
	return out
}

// Options are the host flags of a command line.
type Options struct {
	Hosts     []string // -w/--hosts values, each read by Parse
	Hostfiles []string // --hostfile paths, each read by ReadHostfile
	Exclude   []string // -x values, each read by ParseExclude
}

// Select returns the hosts the options name: those of Hosts, then those
// of Hostfiles, in order, duplicate logins dropped (the first kept), then
// the excluded ones removed. With no Hosts and no Hostfiles it returns
// nil and no error: the caller picks its default. When lists were given
// but name no host (an empty hostfile), or the exclusions removed every
// host, the error matches ErrNoHosts. At most MaxHosts hosts are read in
// all.
func Select(o Options) ([]Host, error) {
	var all []Host
	for _, s := range o.Hosts {
		hs, err := Parse(s)
		if err != nil {
			return nil, err
		}
		all = append(all, hs...)
		if len(all) > MaxHosts {
			return nil, &SyntaxError{Source: "hosts", Column: 1, Msg: fmt.Sprintf("expands to more than %d hosts", MaxHosts), Err: ErrTooMany}
		}
	}
	for _, path := range o.Hostfiles {
		hs, err := ReadHostfile(path)
		if err != nil {
			return nil, err
		}
		all = append(all, hs...)
		if len(all) > MaxHosts {
			return nil, &SyntaxError{Source: path, Line: 1, Column: 1, Msg: fmt.Sprintf("expands to more than %d hosts", MaxHosts), Err: ErrTooMany}
		}
	}
	if len(o.Hosts) == 0 && len(o.Hostfiles) == 0 {
		return nil, nil
	}
	all = Dedup(all)
	n := len(all)
	if n == 0 {
		return nil, fmt.Errorf("hostsel: the host lists are empty: %w", ErrNoHosts)
	}
	for _, s := range o.Exclude {
		m, err := ParseExclude(s)
		if err != nil {
			return nil, err
		}
		all = Exclude(all, m)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("hostsel: all %d hosts excluded by -x %s: %w", n, strings.Join(o.Exclude, " -x "), ErrNoHosts)
	}
	return all, nil
}

// Names returns the hosts' names, in order, each once.
func Names(hosts []Host) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, h.Name)
	}
	return dedupStrings(out)
}
