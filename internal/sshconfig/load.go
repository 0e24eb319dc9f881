package sshconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// maxDepth is OpenSSH's limit on nested Include files.
const maxDepth = 16

// Source is one top-level config file.
type Source struct {
	// Path is the file's name.
	Path string
	// System marks the system-wide file (/etc/ssh/ssh_config): its
	// relative Include paths are under /etc/ssh and "~" is refused there.
	System bool
	// Optional skips a file that does not exist (the default files);
	// otherwise a missing file is an error (ssh -F).
	Optional bool
	// CheckPerm refuses a file that is not owned by the user or root, or
	// is writable by group or others, as ssh does for ~/.ssh/config. Files
	// reached by Include are always checked.
	CheckPerm bool
}

// file is one parsed config file.
type file struct {
	path   string
	system bool
	lines  []*line
}

// line is one non-blank, non-comment line of a file.
type line struct {
	file    *file
	num     int
	keyword string // lowercased
	// rest is the text after the keyword (and its blanks or '='), raw.
	rest      string
	noArg     bool
	args      []string
	badQuotes bool
	incs      []*include // Include only
}

// include is one argument of an Include line, with the files it matched.
type include struct {
	arg   string
	err   error // a bad path, a glob or open failure: reported when the line is processed
	files []*file
}

// Config is a set of parsed config files, ready to resolve hosts with
// [Config.Resolve]. It is safe for concurrent use.
type Config struct {
	env     *Env
	sources []*file
}

// Load reads and parses the sources in order (ssh reads ~/.ssh/config
// then /etc/ssh/ssh_config, or only the -F file), with the files they
// Include. A source that cannot be read is an error, except a missing
// optional one. Errors of content (unknown keywords, bad values, a refused
// Match exec) are found by [Config.Check] and [Config.Resolve], as ssh
// finds them when it reads the files for a host.
func Load(env *Env, sources ...Source) (*Config, error) {
	if env == nil {
		var err error
		if env, err = CurrentEnv(); err != nil {
			return nil, err
		}
	}
	c := &Config{env: env}
	for _, s := range sources {
		f, err := c.readFile(s.Path, s.System, s.CheckPerm, 0)
		if err != nil {
			if s.Optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		c.sources = append(c.sources, f)
	}
	return c, nil
}

func (c *Config) readFile(path string, system, checkPerm bool, depth int) (*file, error) {
	if depth > maxDepth {
		return nil, &Error{File: path, Msg: fmt.Sprintf("too many nested Include files (more than %d)", maxDepth), Err: ErrInvalid}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sshconfig: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("sshconfig: %w", err)
	}
	if checkPerm {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			if (sys.Uid != 0 && int(sys.Uid) != c.env.UID) || st.Mode().Perm()&0o022 != 0 {
				return nil, &Error{File: path, Msg: "bad owner or permissions (must be owned by the user or root and not writable by group or others)", Err: ErrInvalid}
			}
		}
	}
	f := &file{path: path, system: system}
	if st.IsDir() {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sshconfig: %w", err)
	}
	text := string(data)
	num := 0
	for text != "" {
		var raw string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			raw, text = text[:i+1], text[i+1:]
		} else {
			raw, text = text, ""
		}
		num++
		l := parseLine(raw)
		if l == nil {
			continue
		}
		l.file, l.num = f, num
		if l.keyword == "include" && !l.noArg && !l.badQuotes {
			for _, a := range l.args {
				l.incs = append(l.incs, c.loadInclude(f, a, depth))
			}
		}
		f.lines = append(f.lines, l)
	}
	return f, nil
}

// parseLine splits one line into keyword and value; nil for a blank or
// comment line.
func parseLine(raw string) *line {
	s := trimLine(raw)
	if s == "" || s == "\n" {
		return nil
	}
	exhausted := false
	kw, ok := strdelim(&s, &exhausted)
	if !ok {
		return nil
	}
	if kw == "" {
		if kw, ok = strdelim(&s, &exhausted); !ok {
			return nil
		}
	}
	if kw == "" || kw[0] == '\n' || kw[0] == '#' {
		return nil
	}
	l := &line{keyword: asciiLower(kw)}
	if !exhausted {
		s = strings.TrimLeft(s, whitespace)
	}
	if exhausted || s == "" {
		l.noArg = true
		return l
	}
	l.rest = s
	l.args, ok = argvSplit(s)
	l.badQuotes = !ok
	return l
}

// loadInclude globs one Include argument and reads the files it matches.
func (c *Config) loadInclude(from *file, arg string, depth int) *include {
	inc := &include{arg: arg}
	if arg == "" {
		inc.err = errors.New("empty argument")
		return inc
	}
	if arg[0] == '~' && from.system {
		inc.err = fmt.Errorf("bad include path %s (\"~\" in the system-wide file)", arg)
		return inc
	}
	pattern := arg
	if !filepath.IsAbs(arg) && arg[0] != '~' {
		if from.system {
			root := c.env.Root
			if root == "" {
				root = "/etc/ssh"
			}
			pattern = root + "/" + arg
		} else {
			pattern = "~/.ssh/" + arg
		}
	}
	if strings.HasPrefix(pattern, "~") {
		// The C library's glob expands "~" from $HOME, "~user" from
		// the passwd entry.
		rest := pattern[1:]
		name, tail := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name, tail = rest[:i], rest[i:]
		}
		var home string
		if name == "" {
			if h, ok := c.env.lookupEnv("HOME"); ok && h != "" {
				home = h
			} else {
				home = c.env.Home
			}
		} else if h, err := c.env.homeOf(name); err == nil {
			home = h
		} else {
			// glob leaves an unknown ~user as written.
			home = "~" + name
		}
		pattern = home + tail
	}
	for _, p := range glob(pattern) {
		f, err := c.readFile(p, from.system, true, depth+1)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			inc.err = err
			return inc
		}
		inc.files = append(inc.files, f)
	}
	return inc
}

// hasMeta reports whether a glob pattern part has wildcards.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// glob expands pattern like the C library's glob without flags: '*', '?',
// '[...]' and backslash escapes; wildcards never match a leading '.'; the
// result is sorted bytewise; nothing matching is an empty result.
func glob(pattern string) []string {
	if !hasMeta(pattern) {
		if _, err := os.Lstat(pattern); err != nil {
			return nil
		}
		return []string{pattern}
	}
	parts := strings.Split(pattern, "/")
	cur := []string{""}
	if parts[0] == "" {
		cur = []string{"/"}
		parts = parts[1:]
	}
	for i, part := range parts {
		last := i == len(parts)-1
		var next []string
		for _, dir := range cur {
			if part == "" {
				next = append(next, dir)
				continue
			}
			if !hasMeta(part) {
				p := join(dir, part)
				if last {
					if _, err := os.Lstat(p); err != nil {
						continue
					}
				}
				next = append(next, p)
				continue
			}
			d := dir
			if d == "" {
				d = "."
			}
			entries, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			for _, e := range entries {
				name := e.Name()
				if name[0] == '.' && part[0] != '.' {
					continue
				}
				if ok, err := filepath.Match(part, name); err == nil && ok {
					next = append(next, join(dir, name))
				}
			}
		}
		cur = next
	}
	sort.Strings(cur)
	return cur
}

func join(dir, name string) string {
	switch dir {
	case "":
		return name
	case "/":
		return "/" + name
	}
	return dir + "/" + name
}
