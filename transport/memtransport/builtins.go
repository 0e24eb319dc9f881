package memtransport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// builtins are the commands every host has unless Options.DisableBuiltins
// is set. Their names are listed in the package documentation.
var builtins map[string]Func

func init() {
	builtins = map[string]Func{
		"true":      func(context.Context, *Process) int { return 0 },
		"false":     func(context.Context, *Process) int { return 1 },
		"cat":       runCat,
		"echo":      runEcho,
		"printf":    runPrintf,
		"sleep":     runSleep,
		"pwd":       runPwd,
		"printenv":  runPrintenv,
		"head":      runHead,
		"stat":      runStat,
		"tr":        runTr,
		"wc":        runWc,
		"rm":        runRm,
		"mkdir":     runMkdir,
		"sha256sum": runSha256sum,
	}
}

// Builtins returns the names of the builtin commands, sorted.
func Builtins() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func builtin(name string) Func { return builtins[name] }

// getopt parses the options of args (args[0] excluded) the POSIX way:
// clustered single-letter options up to "--" or the first operand. flags
// lists the options without a value, valued those that take one.
func getopt(args []string, flags, valued string) (map[byte]string, []string, error) {
	opts := make(map[byte]string)
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(flags, c) >= 0:
				opts[c] = ""
			case strings.IndexByte(valued, c) >= 0:
				v := a[j+1:]
				if v == "" {
					i++
					if i >= len(args) {
						return nil, nil, fmt.Errorf("option requires an argument -- '%c'", c)
					}
					v = args[i]
				}
				opts[c] = v
				j = len(a)
			default:
				return nil, nil, fmt.Errorf("invalid option -- '%c'", c)
			}
		}
	}
	return opts, args[i:], nil
}

// errText renders a file error the way coreutils does.
func errText(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, errIsDir):
		return "Is a directory"
	case errors.Is(err, errNotDir):
		return "Not a directory"
	case errors.Is(err, errNotEmpty):
		return "Directory not empty"
	}
	return err.Error()
}

// eachInput calls fn with each named input (standard input for "-" or when
// names is empty). A missing file is reported on stderr and makes the
// status 1; an error from fn ends the command with status 1.
func eachInput(p *Process, prog string, names []string, fn func(name string, r io.Reader) error) int {
	if len(names) == 0 {
		names = []string{"-"}
	}
	status := 0
	for _, name := range names {
		var r io.Reader = p.Stdin
		if name != "-" {
			data, err := p.ReadFile(name)
			if err != nil {
				fmt.Fprintf(p.Stderr, "%s: %s: %s\n", prog, name, errText(err))
				status = 1
				continue
			}
			r = bytes.NewReader(data)
		}
		if err := fn(name, r); err != nil {
			return p.Fail(1, "%s: %v", prog, err)
		}
	}
	return status
}

func runCat(_ context.Context, p *Process) int {
	_, names, err := getopt(p.Args[1:], "u", "")
	if err != nil {
		return p.Fail(1, "cat: %v", err)
	}
	return eachInput(p, "cat", names, func(_ string, r io.Reader) error {
		_, err := io.Copy(p.Stdout, r)
		return err
	})
}

func runEcho(_ context.Context, p *Process) int {
	args, nl := p.Args[1:], "\n"
	if len(args) > 0 && args[0] == "-n" {
		args, nl = args[1:], ""
	}
	if _, err := io.WriteString(p.Stdout, strings.Join(args, " ")+nl); err != nil {
		return 1
	}
	return 0
}

// runPrintf supports the directives %s, %d and %%, and the escapes \\, \n,
// \t, \r and \0 (with up to three octal digits) in the format. The format
// is reused while arguments remain, as POSIX printf does.
func runPrintf(_ context.Context, p *Process) int {
	args := p.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return p.Fail(1, "printf: missing operand")
	}
	format, args := args[0], args[1:]
	var out bytes.Buffer
	for {
		used, err := printfOnce(&out, format, args)
		if err != nil {
			return p.Fail(1, "printf: %v", err)
		}
		args = args[used:]
		if used == 0 || len(args) == 0 {
			break
		}
	}
	if _, err := p.Stdout.Write(out.Bytes()); err != nil {
		return 1
	}
	return 0
}

func printfOnce(out *bytes.Buffer, format string, args []string) (used int, err error) {
	next := func() string {
		if used < len(args) {
			used++
			return args[used-1]
		}
		return ""
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '\\' && i+1 < len(format):
			i++
			switch e := format[i]; e {
			case 'n':
				out.WriteByte('\n')
			case 't':
				out.WriteByte('\t')
			case 'r':
				out.WriteByte('\r')
			case '\\':
				out.WriteByte('\\')
			case '0':
				v := 0
				for k := 0; k < 3 && i+1 < len(format) && '0' <= format[i+1] && format[i+1] <= '7'; k++ {
					i++
					v = v*8 + int(format[i]-'0')
				}
				out.WriteByte(byte(v))
			default:
				out.WriteByte('\\')
				out.WriteByte(e)
			}
		case c == '%' && i+1 < len(format):
			i++
			switch d := format[i]; d {
			case '%':
				out.WriteByte('%')
			case 's':
				out.WriteString(next())
			case 'd':
				a := next()
				if a == "" {
					a = "0"
				}
				n, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return used, fmt.Errorf("%s: invalid number", a)
				}
				out.WriteString(strconv.FormatInt(n, 10))
			default:
				return used, fmt.Errorf("%%%c: directive not supported", d)
			}
		default:
			out.WriteByte(c)
		}
	}
	return used, nil
}

func runSleep(ctx context.Context, p *Process) int {
	if len(p.Args) < 2 {
		return p.Fail(1, "sleep: missing operand")
	}
	var total time.Duration
	for _, a := range p.Args[1:] {
		unit := time.Second
		switch {
		case strings.HasSuffix(a, "s"):
			a = strings.TrimSuffix(a, "s")
		case strings.HasSuffix(a, "m"):
			a, unit = strings.TrimSuffix(a, "m"), time.Minute
		case strings.HasSuffix(a, "h"):
			a, unit = strings.TrimSuffix(a, "h"), time.Hour
		}
		f, err := strconv.ParseFloat(a, 64)
		if err != nil || f < 0 {
			return p.Fail(1, "sleep: invalid time interval '%s'", a)
		}
		total += time.Duration(f * float64(unit))
	}
	tm := time.NewTimer(total)
	defer tm.Stop()
	select {
	case <-tm.C:
		return 0
	case <-ctx.Done():
		return 130
	}
}

func runPwd(_ context.Context, p *Process) int {
	if _, err := io.WriteString(p.Stdout, p.Dir+"\n"); err != nil {
		return 1
	}
	return 0
}

func runPrintenv(_ context.Context, p *Process) int {
	var out strings.Builder
	status := 0
	if len(p.Args) == 1 {
		seen := make(map[string]bool)
		var lines []string
		for i := len(p.Env) - 1; i >= 0; i-- {
			k, _, _ := strings.Cut(p.Env[i], "=")
			if !seen[k] {
				seen[k] = true
				lines = append(lines, p.Env[i])
			}
		}
		slices.Reverse(lines)
		for _, l := range lines {
			out.WriteString(l + "\n")
		}
	}
	for _, name := range p.Args[1:] {
		v, ok := p.LookupEnv(name)
		if !ok {
			status = 1
			continue
		}
		out.WriteString(v + "\n")
	}
	if _, err := io.WriteString(p.Stdout, out.String()); err != nil {
		return 1
	}
	return status
}

func runHead(_ context.Context, p *Process) int {
	opts, names, err := getopt(p.Args[1:], "", "cn")
	if err != nil {
		return p.Fail(1, "head: %v", err)
	}
	count, lines := int64(10), true
	if v, ok := opts['c']; ok {
		lines = false
		count, err = strconv.ParseInt(v, 10, 64)
		if err != nil || count < 0 {
			return p.Fail(1, "head: invalid number of bytes: '%s'", v)
		}
	} else if v, ok := opts['n']; ok {
		count, err = strconv.ParseInt(v, 10, 64)
		if err != nil || count < 0 {
			return p.Fail(1, "head: invalid number of lines: '%s'", v)
		}
	}
	return eachInput(p, "head", names, func(_ string, r io.Reader) error {
		if !lines {
			_, err := io.CopyN(p.Stdout, r, count)
			if err == io.EOF {
				err = nil
			}
			return err
		}
		br := bufio.NewReader(r)
		for n := int64(0); n < count; n++ {
			line, err := br.ReadBytes('\n')
			if _, werr := p.Stdout.Write(line); werr != nil {
				return werr
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// runStat supports only -c FORMAT, with %a (octal permission bits), %s
// (size), %n (name), %F (file type) and %%.
func runStat(_ context.Context, p *Process) int {
	opts, names, err := getopt(p.Args[1:], "L", "c")
	if err != nil {
		return p.Fail(1, "stat: %v", err)
	}
	format, ok := opts['c']
	if !ok {
		return p.Fail(1, "stat: only 'stat -c FORMAT FILE...' is supported")
	}
	if len(names) == 0 {
		return p.Fail(1, "stat: missing operand")
	}
	var out strings.Builder
	status := 0
	for _, name := range names {
		fi, err := p.Stat(name)
		if err != nil {
			fmt.Fprintf(p.Stderr, "stat: cannot statx '%s': %s\n", name, errText(err))
			status = 1
			continue
		}
		for i := 0; i < len(format); i++ {
			if format[i] != '%' || i+1 == len(format) {
				out.WriteByte(format[i])
				continue
			}
			i++
			switch format[i] {
			case 'a':
				out.WriteString(strconv.FormatUint(uint64(fi.Mode().Perm()), 8))
			case 's':
				out.WriteString(strconv.FormatInt(fi.Size(), 10))
			case 'n':
				out.WriteString(name)
			case 'F':
				if fi.IsDir() {
					out.WriteString("directory")
				} else {
					out.WriteString("regular file")
				}
			case '%':
				out.WriteByte('%')
			default:
				return p.Fail(1, "stat: %%%c: directive not supported", format[i])
			}
		}
		out.WriteByte('\n')
	}
	if _, err := io.WriteString(p.Stdout, out.String()); err != nil {
		return 1
	}
	return status
}

// trSet expands a tr set: ranges (a-z), the classes [:lower:], [:upper:],
// [:digit:], [:space:], [:alpha:], [:alnum:], and the escapes \n, \t, \r,
// \\ and octal \NNN.
func trSet(s string) ([]byte, error) {
	classes := map[string]string{
		"[:lower:]": "abcdefghijklmnopqrstuvwxyz",
		"[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"[:digit:]": "0123456789",
		"[:space:]": " \t\n\v\f\r",
	}
	classes["[:alpha:]"] = classes["[:lower:]"] + classes["[:upper:]"]
	classes["[:alnum:]"] = classes["[:alpha:]"] + classes["[:digit:]"]
	var chars []byte
	next := func(i int) (byte, int) { // the character at s[i] and the index after it
		if s[i] != '\\' || i+1 == len(s) {
			return s[i], i + 1
		}
		i++
		switch s[i] {
		case 'n':
			return '\n', i + 1
		case 't':
			return '\t', i + 1
		case 'r':
			return '\r', i + 1
		}
		if '0' <= s[i] && s[i] <= '7' {
			v, j := 0, i
			for ; j < len(s) && j < i+3 && '0' <= s[j] && s[j] <= '7'; j++ {
				v = v*8 + int(s[j]-'0')
			}
			return byte(v), j
		}
		return s[i], i + 1
	}
	for i := 0; i < len(s); {
		if s[i] == '[' {
			if end := strings.Index(s[i:], ":]"); end > 0 {
				if cl, ok := classes[s[i:i+end+2]]; ok {
					chars = append(chars, cl...)
					i += end + 2
					continue
				}
			}
		}
		lo, j := next(i)
		if j+1 < len(s) && s[j] == '-' {
			hi, k := next(j + 1)
			if hi < lo {
				return nil, fmt.Errorf("range-endpoints of '%c-%c' are in reverse collating sequence order", lo, hi)
			}
			for c := int(lo); c <= int(hi); c++ {
				chars = append(chars, byte(c))
			}
			i = k
			continue
		}
		chars = append(chars, lo)
		i = j
	}
	return chars, nil
}

func runTr(_ context.Context, p *Process) int {
	opts, sets, err := getopt(p.Args[1:], "d", "")
	if err != nil {
		return p.Fail(1, "tr: %v", err)
	}
	_, del := opts['d']
	switch {
	case del && len(sets) != 1, !del && len(sets) != 2:
		return p.Fail(1, "tr: wrong number of operands (want SET1 SET2, or -d SET1)")
	}
	var table [256]byte
	var drop [256]bool
	for i := range table {
		table[i] = byte(i)
	}
	set1, err := trSet(sets[0])
	if err != nil {
		return p.Fail(1, "tr: %v", err)
	}
	if del {
		for _, c := range set1 {
			drop[c] = true
		}
	} else {
		set2, err := trSet(sets[1])
		if err != nil {
			return p.Fail(1, "tr: %v", err)
		}
		if len(set2) == 0 && len(set1) > 0 {
			return p.Fail(1, "tr: when not truncating set1, string2 must be non-empty")
		}
		for i, c := range set1 {
			table[c] = set2[min(i, len(set2)-1)]
		}
	}
	buf := make([]byte, maxChunk)
	for {
		n, rerr := p.Stdin.Read(buf)
		out := buf[:0]
		for _, c := range buf[:n] {
			if !drop[c] {
				out = append(out, table[c])
			}
		}
		if _, err := p.Stdout.Write(out); err != nil {
			return 1
		}
		if rerr == io.EOF {
			return 0
		}
		if rerr != nil {
			return p.Fail(1, "tr: %v", rerr)
		}
	}
}

// runWc counts lines (-l), words (-w) and bytes (-c); with none of them, all
// three.
func runWc(_ context.Context, p *Process) int {
	opts, names, err := getopt(p.Args[1:], "lwc", "")
	if err != nil {
		return p.Fail(1, "wc: %v", err)
	}
	if len(opts) == 0 {
		opts = map[byte]string{'l': "", 'w': "", 'c': ""}
	}
	var out strings.Builder
	var total [3]int64
	write := func(counts [3]int64, name string) {
		var fields []string
		for i, c := range []byte("lwc") {
			if _, ok := opts[c]; ok {
				fields = append(fields, strconv.FormatInt(counts[i], 10))
			}
		}
		if name != "" {
			fields = append(fields, name)
		}
		out.WriteString(strings.Join(fields, " ") + "\n")
	}
	status := eachInput(p, "wc", names, func(name string, r io.Reader) error {
		var counts [3]int64
		inWord := false
		buf := make([]byte, maxChunk)
		for {
			n, err := r.Read(buf)
			for _, c := range buf[:n] {
				space := c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
				if c == '\n' {
					counts[0]++
				}
				if !space && !inWord {
					counts[1]++
				}
				inWord = !space
			}
			counts[2] += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if len(names) == 0 {
			name = ""
		}
		write(counts, name)
		for i := range total {
			total[i] += counts[i]
		}
		return nil
	})
	if len(names) > 1 {
		write(total, "total")
	}
	if _, err := io.WriteString(p.Stdout, out.String()); err != nil {
		return 1
	}
	return status
}

func runRm(_ context.Context, p *Process) int {
	opts, names, err := getopt(p.Args[1:], "frR", "")
	if err != nil {
		return p.Fail(1, "rm: %v", err)
	}
	_, force := opts['f']
	_, rec := opts['r']
	if _, ok := opts['R']; ok {
		rec = true
	}
	if len(names) == 0 && !force {
		return p.Fail(1, "rm: missing operand")
	}
	h := p.h
	status := 0
	for _, name := range names {
		abs := p.Path(name)
		msg := ""
		h.mu.Lock()
		_, isFile := h.files[abs]
		switch {
		case abs == "/":
			msg = "it is dangerous to operate recursively on '/'"
		case isFile:
			delete(h.files, abs)
		case h.dirs[abs] && rec:
			h.removeAllLocked(abs)
		case h.dirs[abs]:
			msg = fmt.Sprintf("cannot remove '%s': Is a directory", name)
		case !force:
			msg = fmt.Sprintf("cannot remove '%s': No such file or directory", name)
		}
		h.mu.Unlock()
		if msg != "" {
			fmt.Fprintf(p.Stderr, "rm: %s\n", msg)
			status = 1
		}
	}
	return status
}

func runMkdir(_ context.Context, p *Process) int {
	opts, names, err := getopt(p.Args[1:], "p", "m")
	if err != nil {
		return p.Fail(1, "mkdir: %v", err)
	}
	_, parents := opts['p']
	if len(names) == 0 {
		return p.Fail(1, "mkdir: missing operand")
	}
	h := p.h
	status := 0
	for _, name := range names {
		abs := p.Path(name)
		var err error
		h.mu.Lock()
		_, isFile := h.files[abs]
		switch {
		case parents:
			err = h.mkdirAllLocked(abs)
		case isFile || h.dirs[abs]:
			err = fs.ErrExist
		case !h.dirs[path.Dir(abs)]:
			err = fs.ErrNotExist
		default:
			h.dirs[abs] = true
		}
		h.mu.Unlock()
		if err != nil {
			text := errText(err)
			if errors.Is(err, fs.ErrExist) {
				text = "File exists"
			}
			fmt.Fprintf(p.Stderr, "mkdir: cannot create directory '%s': %s\n", name, text)
			status = 1
		}
	}
	return status
}

func runSha256sum(_ context.Context, p *Process) int {
	_, names, err := getopt(p.Args[1:], "bt", "")
	if err != nil {
		return p.Fail(1, "sha256sum: %v", err)
	}
	return eachInput(p, "sha256sum", names, func(name string, r io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		// As GNU sha256sum does, a name holding a backslash, a newline
		// or a carriage return is escaped and the line marked with a
		// leading backslash.
		prefix := ""
		if strings.ContainsAny(name, "\\\n\r") {
			prefix = "\\"
			name = strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r").Replace(name)
		}
		_, err := fmt.Fprintf(p.Stdout, "%s%s  %s\n", prefix, hex.EncodeToString(h.Sum(nil)), name)
		return err
	})
}
