package sshconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid marks a config that OpenSSH's ssh rejects too: a syntax
// error, an unknown keyword, a bad value, a failed expansion.
var ErrInvalid = errors.New("invalid ssh config")

// ErrUnsupported marks a construct that ssh accepts but this package
// refuses on purpose (see the package documentation), rather than resolve
// it differently from ssh.
var ErrUnsupported = errors.New("not supported by dproc")

// Error is a config error. It names the file, the line and the keyword
// where they are known, and matches [ErrInvalid] or [ErrUnsupported] with
// errors.Is.
type Error struct {
	File    string
	Line    int    // 0: not about one line
	Keyword string // as written, lowercased; "" when not about a keyword
	Msg     string
	Err     error // ErrInvalid or ErrUnsupported
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ssh config ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Keyword != "" {
		b.WriteString(e.Keyword)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if errors.Is(e.Err, ErrUnsupported) {
		b.WriteString(" (not supported by dproc)")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// value is one setting with where it came from.
type value struct {
	args []string // the words of the value (one for most keywords)
	raw  string   // the raw rest of the line (commands)
	file string
	line int
}

func (v *value) first() string {
	if v == nil || len(v.args) == 0 {
		return ""
	}
	return v.args[0]
}

// jumpSpec is a ProxyJump value.
type jumpSpec struct {
	none  bool
	spec  string // the whole value, comment removed
	extra string // hops before the last, as written
	user  string
	host  string
	port  int
	*value
}

// state is one resolution in progress: ssh's Options.
type state struct {
	env      *Env
	check    bool // syntax check only: nothing is active
	hostArg  string
	host     string // what Host patterns are matched against
	final    bool
	wantFin  bool
	cmdUser  string
	cmdPort  int
	via      bool
	defUser  string
	ignore   *value
	ignoreCk []string // check mode: every IgnoreUnknown seen
	one      map[string]*value
	lists    map[string]*value
	ids      []*value
	certs    []*value
	proxyCmd *value
	jump     *jumpSpec
}

func newState(env *Env) *state {
	return &state{env: env, one: map[string]*value{}, lists: map[string]*value{}}
}

func (st *state) errAt(l *line, format string, args ...any) error {
	return &Error{File: l.file.path, Line: l.num, Keyword: l.keyword, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func refuseAt(l *line, format string, args ...any) error {
	return &Error{File: l.file.path, Line: l.num, Keyword: l.keyword, Msg: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

// processFile reads the lines of f with the Host/Match state in *active.
func (st *state) processFile(f *file, active *bool, never bool) error {
	for _, l := range f.lines {
		if err := st.processLine(l, active, never); err != nil {
			return err
		}
	}
	return nil
}

func (st *state) ignored(kw string) bool {
	if st.check {
		for _, p := range st.ignoreCk {
			if matchList(kw, p, true) == 1 {
				return true
			}
		}
		return false
	}
	return st.ignore != nil && matchList(kw, st.ignore.first(), true) == 1
}

func (st *state) setOne(name string, l *line, on bool, args ...string) {
	if on && st.one[name] == nil {
		st.one[name] = &value{args: args, file: l.file.path, line: l.num}
	}
}

func (st *state) processLine(l *line, active *bool, never bool) error {
	if l.noArg {
		return st.errAt(l, "no value")
	}
	kw, known := keywords[l.keyword]
	if !known {
		if st.ignored(l.keyword) {
			return nil
		}
		return st.errAt(l, "unknown keyword (Bad configuration option)")
	}
	if l.badQuotes {
		return st.errAt(l, "unclosed quote")
	}
	on := *active && !st.check
	args := l.args
	used := 0
	next := func() (string, bool) {
		if used >= len(args) {
			return "", false
		}
		used++
		return args[used-1], true
	}
	name := kw.name

	switch kw.op {
	case opConsume:
		used = len(args)
	case opFlag, opMulti:
		a, _ := next()
		if !inFold(a, kw.states) {
			return st.errAt(l, "bad value %q (want one of %s)", a, strings.Join(kw.states, ", "))
		}
		st.setOne(name, l, on, asciiLower(a))
	case opTime:
		a, _ := next()
		if a == "" {
			return st.errAt(l, "missing time value")
		}
		if a == "none" {
			break // counts as unset: a later line may still set it
		}
		t := convtime(a)
		if t < 0 {
			return st.errAt(l, "bad time value %q", a)
		}
		st.setOne(name, l, on, strconv.FormatInt(t, 10))
	case opInt:
		a, _ := next()
		v, err := strtonum(a, 0, 1<<31-1)
		if a == "" || err != nil {
			return st.errAt(l, "bad integer %q", a)
		}
		st.setOne(name, l, on, strconv.FormatInt(v, 10))
	case opString:
		a, _ := next()
		if a == "" {
			return st.errAt(l, "missing value")
		}
		if name == "ignoreunknown" {
			if st.check {
				st.ignoreCk = append(st.ignoreCk, a)
			} else if on && st.ignore == nil {
				st.ignore = &value{args: []string{a}, file: l.file.path, line: l.num}
			}
			break
		}
		st.setOne(name, l, on, a)
	case opCommand:
		used = len(args)
		raw := strings.TrimLeft(l.rest, whitespace+"=")
		if name == "proxycommand" {
			if on && st.proxyCmd == nil {
				st.proxyCmd = &value{raw: raw, args: []string{raw}, file: l.file.path, line: l.num}
			}
			break
		}
		if on && st.one[name] == nil {
			st.one[name] = &value{raw: raw, args: []string{raw}, file: l.file.path, line: l.num}
		}
	case opList:
		n := 0
		for {
			a, ok := next()
			if !ok {
				break
			}
			if a == "" {
				return st.errAt(l, "empty value")
			}
			if strings.EqualFold(a, "none") && (n > 0 || used < len(args)) {
				return st.errAt(l, "\"none\" must appear alone")
			}
			n++
		}
		if on && st.lists[name] == nil {
			st.lists[name] = &value{args: args, file: l.file.path, line: l.num}
		}
	case opAlgoList:
		a, _ := next()
		if a == "" {
			return st.errAt(l, "missing value")
		}
		if a[0] != '-' {
			list := a
			if a[0] == '+' || a[0] == '^' {
				list = a[1:]
			}
			if !validAlgos(list, kw.algos, kw.keys) {
				return st.errAt(l, "bad algorithm list %q", a)
			}
		}
		st.setOne(name, l, on, a)
	case opSpecial:
		n, err := st.special(l, name, args, active, never, on)
		if err != nil {
			return err
		}
		used = n
	}
	if used < len(args) {
		return st.errAt(l, "extra arguments at end of line")
	}
	return nil
}

// special handles the keywords with their own syntax; it returns how many
// words it used.
func (st *state) special(l *line, name string, args []string, active *bool, never, on bool) (int, error) {
	arg0 := ""
	if len(args) > 0 {
		arg0 = args[0]
	}
	switch name {
	case "host":
		*active = false
		for _, a := range args {
			if a == "" {
				return 0, st.errAt(l, "empty pattern")
			}
			if never || st.check {
				return len(args), nil
			}
			neg := strings.HasPrefix(a, "!")
			if neg {
				a = a[1:]
			}
			if matchPattern(st.host, a) {
				if neg {
					*active = false
					return len(args), nil
				}
				*active = true
			}
		}
		return len(args), nil
	case "match":
		res, err := st.match(l)
		if err != nil {
			return 0, err
		}
		*active = res && !never && !st.check
		return len(args), nil
	case "include":
		for _, inc := range l.incs {
			if inc.err != nil {
				var ce *Error
				if errors.As(inc.err, &ce) {
					return 0, &Error{File: l.file.path, Line: l.num, Keyword: l.keyword, Msg: fmt.Sprintf("%s: %s", ce.File, ce.Msg), Err: ce.Err}
				}
				return 0, st.errAt(l, "%s: %v", inc.arg, inc.err)
			}
			was := *active
			for _, f := range inc.files {
				if err := st.processFile(f, active, never || !was); err != nil {
					return 0, err
				}
				*active = was
			}
		}
		return len(args), nil
	case "identityfile", "certificatefile":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		if on {
			list := &st.ids
			if name == "certificatefile" {
				list = &st.certs
			}
			dup := false
			for _, v := range *list {
				if v.first() == arg0 {
					dup = true
				}
			}
			if !dup {
				if len(*list) >= 100 {
					return 0, st.errAt(l, "too many files (max 100)")
				}
				*list = append(*list, &value{args: []string{arg0}, file: l.file.path, line: l.num})
			}
		}
		return 1, nil
	case "port":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		p, err := st.env.a2port(arg0)
		if err != nil {
			return 0, st.errAt(l, "%v", err)
		}
		st.setOne(name, l, on, strconv.Itoa(p))
		return 1, nil
	case "proxyjump":
		raw := strings.TrimLeft(l.rest, whitespace+"=")
		if err := st.parseJump(l, raw, on); err != nil {
			return 0, err
		}
		return len(args), nil
	case "forwardagent":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		if inFold(arg0, flagStates) {
			st.setOne(name, l, on, asciiLower(arg0))
			return 1, nil
		}
		if err := st.checkAgentPath(l, arg0); err != nil {
			return 0, err
		}
		st.setOne(name, l, on, arg0)
		return 1, nil
	case "identityagent":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		if err := st.checkAgentPath(l, arg0); err != nil {
			return 0, err
		}
		st.setOne(name, l, on, arg0)
		return 1, nil
	case "rekeylimit":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		if arg0 != "default" {
			v, ok := scanScaled(arg0)
			if !ok {
				return 0, st.errAt(l, "bad number %q", arg0)
			}
			if v != 0 && v < 16 {
				return 0, st.errAt(l, "RekeyLimit too small")
			}
		}
		if len(args) > 1 {
			if args[1] == "none" {
				return 2, nil
			}
			if convtime(args[1]) < 0 {
				return 0, st.errAt(l, "bad time value %q", args[1])
			}
			return 2, nil
		}
		return 1, nil
	case "loglevel":
		if !inFold(arg0, logLevels) {
			return 0, st.errAt(l, "unsupported log level %q", arg0)
		}
		return 1, nil
	case "syslogfacility":
		if !inFold(arg0, logFacilities) {
			return 0, st.errAt(l, "unsupported log facility %q", arg0)
		}
		return 1, nil
	case "fingerprinthash":
		if !inFold(arg0, fingerprintAlg) {
			return 0, st.errAt(l, "invalid hash algorithm %q", arg0)
		}
		return 1, nil
	case "localforward", "remoteforward", "dynamicforward":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		if name == "dynamicforward" {
			return 1, nil
		}
		if len(args) < 2 || args[1] == "" {
			if name == "localforward" {
				return 0, st.errAt(l, "missing target")
			}
			return 1, nil
		}
		return 2, nil
	case "permitremoteopen":
		for i, a := range args {
			if strings.EqualFold(a, "none") || strings.EqualFold(a, "any") {
				if i > 0 || len(args) > 1 {
					return 0, st.errAt(l, "%q must appear alone", a)
				}
				continue
			}
			i := strings.LastIndexByte(a, ':')
			if i <= 0 {
				return 0, st.errAt(l, "missing host in %q", a)
			}
			if p := a[i+1:]; p != "*" {
				if _, err := st.env.a2port(p); err != nil {
					return 0, st.errAt(l, "bad port in %q", a)
				}
			}
		}
		return len(args), nil
	case "escapechar":
		ok := arg0 == "none" || len(arg0) == 1 ||
			(len(arg0) == 2 && arg0[0] == '^' && arg0[1] >= 64 && arg0[1] < 128)
		if arg0 == "" || !ok {
			return 0, st.errAt(l, "bad escape character %q", arg0)
		}
		return 1, nil
	case "sendenv":
		for _, a := range args {
			if a == "" || strings.Contains(a, "=") {
				return 0, st.errAt(l, "invalid environment name %q", a)
			}
		}
		return len(args), nil
	case "setenv":
		for _, a := range args {
			if !strings.Contains(a, "=") {
				return 0, st.errAt(l, "invalid SetEnv %q", a)
			}
		}
		return len(args), nil
	case "controlpersist":
		switch {
		case arg0 == "":
			return 0, st.errAt(l, "missing value")
		case arg0 == "no" || arg0 == "false" || arg0 == "yes" || arg0 == "true":
		case convtime(arg0) >= 0:
		default:
			return 0, st.errAt(l, "bad ControlPersist value %q", arg0)
		}
		return 1, nil
	case "tunneldevice":
		if arg0 == "" || !validTun(arg0) {
			return 0, st.errAt(l, "bad tun device %q", arg0)
		}
		return 1, nil
	case "ipqos":
		if !validIPQoS(arg0) {
			return 0, st.errAt(l, "bad IPQoS value %q", arg0)
		}
		if len(args) > 1 {
			if !validIPQoS(args[1]) {
				return 0, st.errAt(l, "bad IPQoS value %q", args[1])
			}
			return 2, nil
		}
		return 1, nil
	case "canonicaldomains":
		for i, a := range args {
			if a == "" {
				return 0, st.errAt(l, "empty value")
			}
			if strings.EqualFold(a, "none") && (i > 0 || len(args) > 1) {
				return 0, st.errAt(l, "\"none\" must appear alone")
			}
			if !validDomain(a) {
				return 0, st.errAt(l, "bad domain %q", a)
			}
		}
		if on && st.lists[name] == nil {
			st.lists[name] = &value{args: args, file: l.file.path, line: l.num}
		}
		return len(args), nil
	case "canonicalizepermittedcnames":
		for i, a := range args {
			switch {
			case strings.EqualFold(a, "none"):
				if i > 0 || len(args) > 1 {
					return 0, st.errAt(l, "\"none\" must appear alone")
				}
			case a == "*":
			default:
				j := strings.IndexByte(a, ':')
				if j < 0 || j == len(a)-1 {
					return 0, st.errAt(l, "invalid permitted CNAME %q", a)
				}
			}
		}
		if on && st.lists[name] == nil {
			st.lists[name] = &value{args: args, file: l.file.path, line: l.num}
		}
		return len(args), nil
	case "streamlocalbindmask":
		if arg0 == "" {
			return 0, st.errAt(l, "missing value")
		}
		v, _, ok := cStrtolBase(arg0, 8)
		if !ok || v < 0 || v > 0o777 {
			return 0, st.errAt(l, "bad mask %q", arg0)
		}
		return 1, nil
	case "addkeystoagent":
		states := []string{"true", "false", "yes", "no", "ask", "confirm"}
		known := inFold(arg0, states)
		switch {
		case arg0 == "":
			return 0, st.errAt(l, "missing value")
		case known && strings.EqualFold(arg0, "confirm") && len(args) > 1:
			if t := convtime(args[1]); t < 0 {
				return 0, st.errAt(l, "bad time value %q", args[1])
			}
			return 2, nil
		case !known && len(args) == 1:
			if convtime(arg0) < 0 {
				return 0, st.errAt(l, "unsupported value %q", arg0)
			}
			return 1, nil
		case !known || len(args) > 1:
			return 0, st.errAt(l, "unsupported value %q", arg0)
		}
		return 1, nil
	}
	return len(args), nil
}

// checkAgentPath validates an agent socket path as ssh does when it reads
// the line: its ${VAR} references must be set.
func (st *state) checkAgentPath(l *line, a string) error {
	if _, err := st.env.expand(a, nil, true); err != nil {
		return st.errAt(l, "invalid environment expansion %q: %v", a, err)
	}
	if len(a) > 1 && a[0] == '$' && a[1] != '{' && !validEnvName(a[1:]) {
		return st.errAt(l, "invalid environment name %q", a)
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func scanScaled(s string) (int64, bool) {
	v, rest, ok := cStrtol(s)
	if !ok || v < 0 {
		return 0, false
	}
	mult := int64(1)
	switch strings.ToUpper(rest) {
	case "", "B":
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	default:
		return 0, false
	}
	return v * mult, true
}

func validTun(s string) bool {
	one := func(p string) bool {
		if strings.EqualFold(p, "any") {
			return true
		}
		_, err := strtonum(p, 0, 0x7fffffff-2)
		return err == nil
	}
	if a, b, ok := strings.Cut(s, ":"); ok {
		return one(a) && one(b)
	}
	return one(s)
}

func validIPQoS(s string) bool {
	if s == "" {
		return false
	}
	if inFold(s, ipqosNames) {
		return true
	}
	v, ok := parseCUint(s)
	return ok && v <= 255
}

func validDomain(s string) bool {
	if s == "" || len(s) > 255 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
		if c == '.' && i > 0 && s[i-1] == '.' {
			return false
		}
	}
	return true
}
