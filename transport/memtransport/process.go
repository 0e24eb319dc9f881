package memtransport

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"dproc/transport"
)

// Func is a command: it runs with the process's streams and files and
// returns the exit status (0 for success). ctx is cancelled when the Run
// ends for any reason (its context, Close, a fault); a Func that runs for
// long should watch it. A Func that writes after its Run returned gets an
// error from the write.
type Func func(ctx context.Context, p *Process) int

// Process is what a [Func] sees of the command it runs as.
type Process struct {
	Host  string   // the host's name
	Args  []string // the argument vector; for a Shell line, its words if it is a simple command, else nil
	Shell string   // the command's Shell line, if it has one
	Dir   string   // the working directory, clean and absolute
	Env   []string // the environment: HOME, PATH, PWD, then Command.Env (later entries win)

	Stdin  io.Reader // standard input; ends when Command.Stdin ends
	Stdout io.Writer // standard output, written through to Command.Stdout
	Stderr io.Writer // standard error, written through to Command.Stderr

	h *Host
}

// LookupEnv returns the value of the environment variable key and whether it
// is set. The last entry for key wins.
func (p *Process) LookupEnv(key string) (string, bool) {
	for i := len(p.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(p.Env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Getenv returns the value of the environment variable key, or "".
func (p *Process) Getenv(key string) string {
	v, _ := p.LookupEnv(key)
	return v
}

// Path returns name as a clean absolute path on the host, resolving a
// relative name against p.Dir.
func (p *Process) Path(name string) string { return p.h.resolve(p.Dir, name) }

// ReadFile returns the content of the file name on the host; a relative name
// is resolved against p.Dir.
func (p *Process) ReadFile(name string) ([]byte, error) { return p.h.ReadFile(p.Path(name)) }

// WriteFile stores data at name on the host as [Host.WriteFile] does; a
// relative name is resolved against p.Dir.
func (p *Process) WriteFile(name string, data []byte, mode fs.FileMode) error {
	return p.h.WriteFile(p.Path(name), data, mode)
}

// Stat describes the file or directory name on the host; a relative name is
// resolved against p.Dir.
func (p *Process) Stat(name string) (fs.FileInfo, error) { return p.h.Stat(p.Path(name)) }

// Control returns the handle of the host the process runs on, for its other
// files and its fault controls: a Func may, say, kill its own host half way.
func (p *Process) Control() *Host { return p.h }

// Fail writes the message (format and args as for fmt.Sprintf, plus a
// newline) to standard error and returns code, so that a Func can end with
// "return p.Fail(2, ...)".
func (p *Process) Fail(code int, format string, args ...any) int {
	fmt.Fprintf(p.Stderr, format+"\n", args...)
	return code
}

func baseEnv(h *Host, dir string) []string {
	return []string{"HOME=" + h.home, "PATH=/usr/local/bin:/usr/bin:/bin", "PWD=" + dir}
}

// handler returns the command registered under name on h or on t, or nil.
func (t *Transport) handler(h *Host, name string) Func {
	h.mu.Lock()
	fn := h.handlers[name]
	h.mu.Unlock()
	if fn != nil {
		return fn
	}
	w := t.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.handlers[name]
}

func (t *Transport) builtinsOn() bool {
	w := t.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.builtins
}

// command finds what runs for cmd on h in directory dir, and the argument
// vector the process sees.
func (t *Transport) command(h *Host, cmd *transport.Command, dir string) (Func, []string) {
	if fi, err := h.Stat(dir); err != nil || !fi.IsDir() {
		return failing(2, "sh: cd: "+cmd.Dir+": No such file or directory"), cmd.Args
	}
	if cmd.Shell != "" {
		return t.shell(h, cmd.Shell, dir)
	}
	return t.argv(h, cmd.Args, dir), cmd.Args
}

// shell finds what runs for the shell line on h.
func (t *Transport) shell(h *Host, line, dir string) (Func, []string) {
	if fn := t.handler(h, line); fn != nil {
		return fn, nil
	}
	words, ok := splitWords(line)
	if !ok || len(words) == 0 {
		return failing(127, "sh: "+line+": command not found"), nil
	}
	if words[0] == "exit" && len(words) <= 2 {
		code := 0
		if len(words) == 2 {
			n, err := strconv.Atoi(words[1])
			if err != nil || n < 0 {
				return failing(2, "sh: exit: Illegal number: "+words[1]), words
			}
			code = n & 0xff
		}
		return func(context.Context, *Process) int { return code }, words
	}
	return t.argv(h, words, dir), words
}

// argv finds what runs for the argument vector args on h.
func (t *Transport) argv(h *Host, args []string, dir string) Func {
	name := args[0]
	if fn := t.handler(h, name); fn != nil {
		return fn
	}
	if name == "sh" && len(args) == 3 && args[1] == "-c" {
		line := args[2]
		return func(ctx context.Context, p *Process) int {
			fn, words := t.shell(h, line, dir)
			q := *p
			q.Args, q.Shell = words, line
			return fn(ctx, &q)
		}
	}
	if strings.Contains(name, "/") {
		fi, err := h.Stat(h.resolve(dir, name))
		switch {
		case err != nil:
			return failing(127, "sh: "+name+": not found")
		case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
			return failing(126, "sh: "+name+": Permission denied")
		}
		name = path.Base(name)
		if fn := t.handler(h, name); fn != nil {
			return fn
		}
	}
	if t.builtinsOn() {
		if fn := builtin(name); fn != nil {
			return fn
		}
	}
	return failing(127, args[0]+": command not found")
}

// failing returns a Func that writes msg to standard error and exits with
// code.
func failing(code int, msg string) Func {
	return func(_ context.Context, p *Process) int { return p.Fail(code, "%s", msg) }
}

// splitWords splits a shell line into words if it is a simple command: words
// separated by blanks, with single quotes, double quotes and backslashes as a
// POSIX shell reads them, and no expansion, redirection, pipeline, list,
// comment or variable assignment. ok is false for anything else.
func splitWords(line string) (words []string, ok bool) {
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				switch d := line[i]; {
				case d == '$' || d == '`':
					return nil, false
				case d == '\\' && i+1 < len(line) && strings.IndexByte("$`\"\\\n", line[i+1]) >= 0:
					i++
					w.WriteByte(line[i])
				default:
					w.WriteByte(d)
				}
			}
			if i >= len(line) {
				return nil, false
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, false
			}
			i++
			w.WriteByte(line[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?[]{}~\n", c) >= 0,
			c == '#' && !inWord,
			c == '=' && len(words) == 0 && isName(w.String()) && inWord:
			return nil, false
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, true
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}
