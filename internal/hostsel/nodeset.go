package hostsel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"dproc/internal/errdef"
)

// MaxHosts bounds how many hosts one expression, one hostfile or one
// [Select] may expand to. A range past it, such as node[1-100000000], is
// refused with an error matching [ErrTooMany] before anything is allocated.
const MaxHosts = 100000

// maxDigits bounds the digits of one range bound, so that every bound fits
// an int64 with room to spare.
const maxDigits = 18

var (
	// ErrSyntax is matched (errors.Is) by every *SyntaxError about bad
	// syntax.
	ErrSyntax = errors.New("bad host syntax")
	// ErrTooMany is matched by the *SyntaxError of a selection that expands
	// past MaxHosts.
	ErrTooMany = errors.New("too many hosts")
	// ErrNoHosts is returned by Select when host lists were given but
	// name no host, or the exclusions removed every one. It is the
	// "no hosts" value every dproc package shares (errdef.ErrNoHosts).
	ErrNoHosts = errdef.ErrNoHosts
)

// SyntaxError reports where a host expression or hostfile line is wrong.
// Its message reads "hosts: column 7: unclosed '['" for a command-line
// value, and "FILE:3: column 7: ..." for line 3 of a hostfile.
type SyntaxError struct {
	Source string // what was parsed: "hosts", "exclude" or a hostfile name
	Line   int    // 1-based hostfile line; 0 for a single value
	Column int    // 1-based, counted in characters (not bytes)
	Msg    string // what is wrong, for a person
	Err    error  // ErrSyntax or ErrTooMany
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: column %d: %s", e.Source, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: column %d: %s", e.Source, e.Column, e.Msg)
}

// Unwrap returns ErrSyntax or ErrTooMany.
func (e *SyntaxError) Unwrap() error { return e.Err }

// parser reads one expression, as runes so that columns count characters.
type parser struct {
	src    []rune
	pos    int
	source string
	line   int
	glob   bool // '*' and '?' are allowed in names (exclusion patterns)
	budget int  // hosts still allowed before ErrTooMany
}

func newParser(s, source string, line int, budget int) *parser {
	return &parser{src: []rune(s), source: source, line: line, budget: budget}
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Source: p.source, Line: p.line, Column: pos + 1, Msg: fmt.Sprintf(format, args...), Err: ErrSyntax}
}

func (p *parser) tooMany(pos int) error {
	return &SyntaxError{Source: p.source, Line: p.line, Column: pos + 1,
		Msg: fmt.Sprintf("expands to more than %d hosts", MaxHosts), Err: ErrTooMany}
}

func (p *parser) peek() (rune, bool) {
	if p.pos >= len(p.src) {
		return 0, false
	}
	return p.src[p.pos], true
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isNameRune reports the characters a host name may hold outside
// brackets: ASCII letters and digits, '.', '-' and '_'.
func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || isDigit(r) || r == '.' || r == '-' || r == '_'
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

// describe names a rune in an error message.
func describe(r rune) string {
	switch {
	case r == ' ':
		return "space"
	case r == '\t':
		return "tab"
	case r < ' ' || r == 0x7f:
		return fmt.Sprintf("control character %U", r)
	}
	return "'" + string(r) + "'"
}

// list parses a whole expression: items separated by commas and/or
// whitespace, each parsed by item. It rejects empty items.
func (p *parser) list(item func() error) error {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil
	}
	for {
		if r, _ := p.peek(); r == ',' {
			return p.errAt(p.pos, "empty host name before ','")
		}
		if err := item(); err != nil {
			return err
		}
		before := p.pos
		p.skipSpace()
		r, ok := p.peek()
		if !ok {
			return nil
		}
		if r == ',' {
			comma := p.pos
			p.pos++
			p.skipSpace()
			if p.pos >= len(p.src) {
				return p.errAt(comma, "empty host name after ','")
			}
			continue
		}
		if p.pos == before {
			// item stopped at something that is not a separator.
			return p.errAt(p.pos, "unexpected %s", describe(r))
		}
	}
}

// names parses one name pattern (literal characters and bracket groups)
// up to a separator or a rune for which stop is true, and returns its
// expansion in order.
func (p *parser) names(stop func(rune) bool) ([]string, error) {
	start := p.pos
	if r, _ := p.peek(); r == '-' {
		// ssh would read it as an option; it is also how "ssh -p 22 host"
		// (a GNU parallel sshlogin with its own ssh command) would start.
		return nil, p.errAt(start, "a host name cannot start with '-'")
	}
	var parts [][]string
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, []string{lit.String()})
			lit.Reset()
		}
	}
	for p.pos < len(p.src) {
		r := p.src[p.pos]
		if r == ',' || isSpace(r) || stop != nil && stop(r) {
			break
		}
		switch {
		case r == '[':
			flush()
			alts, err := p.bracket()
			if err != nil {
				return nil, err
			}
			parts = append(parts, alts)
		case r == ']':
			return nil, p.errAt(p.pos, "']' without '['")
		case isNameRune(r), p.glob && (r == '*' || r == '?'):
			lit.WriteRune(r)
			p.pos++
		default:
			return nil, p.errAt(p.pos, "unexpected %s in host name", describe(r))
		}
	}
	flush()
	if len(parts) == 0 {
		return nil, p.errAt(start, "empty host name")
	}
	n := 1
	for _, part := range parts {
		n *= len(part)
		if n > p.budget {
			return nil, p.tooMany(start)
		}
	}
	p.budget -= n
	out := make([]string, 0, n)
	var walk func(i int, prefix string)
	walk = func(i int, prefix string) {
		if i == len(parts) {
			out = append(out, prefix)
			return
		}
		for _, s := range parts[i] {
			walk(i+1, prefix+s)
		}
	}
	walk(0, "")
	return out, nil
}

// number reads a run of digits.
func (p *parser) number() (string, int, error) {
	start := p.pos
	for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
		p.pos++
	}
	s := string(p.src[start:p.pos])
	if len(s) > maxDigits {
		return "", start, p.errAt(start, "number %s is too long (at most %d digits)", s, maxDigits)
	}
	return s, start, nil
}

func padded(s string) bool { return len(s) > 1 && s[0] == '0' }

// bracket parses "[a-b/step,c,...]" at p.pos and returns its indexes as
// strings, zero-padded as written, duplicates removed in first order.
func (p *parser) bracket() ([]string, error) {
	open := p.pos
	p.pos++
	var out []string
	seen := map[string]bool{}
	count := 0
	for {
		p.skipSpace()
		r, ok := p.peek()
		if !ok {
			return nil, p.errAt(open, "unclosed '['")
		}
		if r == ',' || r == ']' {
			return nil, p.errAt(p.pos, "empty range in '[...]'")
		}
		if !isDigit(r) {
			if r == '[' {
				return nil, p.errAt(p.pos, "'[' inside '[...]'")
			}
			return nil, p.errAt(p.pos, "unexpected %s in range (want digits)", describe(r))
		}
		lo, loPos, err := p.number()
		if err != nil {
			return nil, err
		}
		hi, step := lo, int64(1)
		p.skipSpace()
		if r, _ := p.peek(); r == '-' {
			p.pos++
			p.skipSpace()
			if r, ok := p.peek(); !ok || !isDigit(r) {
				if !ok {
					return nil, p.errAt(open, "unclosed '['")
				}
				return nil, p.errAt(p.pos, "range %s- has no end", lo)
			}
			if hi, _, err = p.number(); err != nil {
				return nil, err
			}
			p.skipSpace()
			if r, _ := p.peek(); r == '/' {
				p.pos++
				p.skipSpace()
				st, stPos, err := p.number()
				if err != nil {
					return nil, err
				}
				if st == "" {
					return nil, p.errAt(p.pos, "'/' without a step")
				}
				step, _ = strconv.ParseInt(st, 10, 64)
				if step < 1 {
					return nil, p.errAt(stPos, "step %s must be at least 1", st)
				}
				p.skipSpace()
			}
		} else if r == '/' {
			return nil, p.errAt(p.pos, "a step needs a range (%s-N/step)", lo)
		}
		if (padded(lo) || padded(hi)) && len(lo) != len(hi) {
			return nil, p.errAt(loPos, "padding length mismatch in %s-%s (write both ends with the same width)", lo, hi)
		}
		width := 0
		if padded(lo) || padded(hi) {
			width = len(lo)
		}
		a, _ := strconv.ParseInt(lo, 10, 64)
		b, _ := strconv.ParseInt(hi, 10, 64)
		if a > b {
			return nil, p.errAt(loPos, "range %s-%s goes down (write %s-%s)", lo, hi, hi, lo)
		}
		n := (b-a)/step + 1
		if n > int64(p.budget) || int64(count)+n > int64(p.budget) {
			return nil, p.tooMany(open)
		}
		count += int(n)
		for v := a; v <= b; v += step {
			s := fmt.Sprintf("%0*d", width, v)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		r, ok = p.peek()
		switch {
		case !ok:
			return nil, p.errAt(open, "unclosed '['")
		case r == ',':
			p.pos++
		case r == ']':
			p.pos++
			return out, nil
		default:
			return nil, p.errAt(p.pos, "unexpected %s in range", describe(r))
		}
	}
}

// Expand expands a node set such as "node[1-3,7],web[01-10]" into host
// names, in the order written, each name once (the first time it occurs).
// Errors are *SyntaxError values naming the column, with Source "hosts".
func Expand(expr string) ([]string, error) {
	return expand(expr, "hosts", 0, false)
}

func expand(expr, source string, line int, glob bool) ([]string, error) {
	p := newParser(expr, source, line, MaxHosts)
	p.glob = glob
	var out []string
	err := p.list(func() error {
		names, err := p.names(nil)
		out = append(out, names...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dedupStrings(out), nil
}

func dedupStrings(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
