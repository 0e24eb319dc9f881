package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"dproc/internal/joblog"
	"dproc/split"
	"dproc/transport"
)

// source is one argument source of argument mode: values after ":::", or
// the files after "::::".
type source struct {
	files bool
	items []string
}

// splitSources cuts the words of dproc run at the first ":::" or "::::":
// the worker's words, then the sources (nil when there is none).
func splitSources(words []string) ([]string, []source, error) {
	i := 0
	for i < len(words) && words[i] != ":::" && words[i] != "::::" {
		i++
	}
	cmd, rest := words[:i], words[i:]
	var srcs []source
	for _, w := range rest {
		switch w {
		case ":::":
			srcs = append(srcs, source{})
		case "::::":
			srcs = append(srcs, source{files: true})
		case ":::+", "::::+":
			return nil, nil, usageErrorf("%s is not supported: every source combines with the others", w)
		default:
			last := &srcs[len(srcs)-1]
			last.items = append(last.items, w)
		}
	}
	for _, s := range srcs {
		if s.files && len(s.items) == 0 {
			return nil, nil, usageErrorf(":::: needs a file name")
		}
	}
	return cmd, srcs, nil
}

// readArgs returns the argument combinations of argument mode, in GNU
// parallel's order: the first source varies slowest.
func (a *app) readArgs(f *runFlags, srcs []source) ([][]string, error) {
	var lists [][]string
	if f.args {
		var r io.Reader = a.stdin
		name := "standard input"
		if f.input != "" && f.input != "-" {
			file, err := os.Open(f.input)
			if err != nil {
				return nil, fail(fmt.Errorf("--args: %w", err))
			}
			defer file.Close()
			r, name = file, f.input
		}
		l, err := readLines(r, name)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	} else if f.input != "" {
		return nil, usageErrorf("-a cannot go with ::: or :::: (for a file of arguments, use :::: FILE or --args -a FILE)")
	}
	for _, s := range srcs {
		if !s.files {
			lists = append(lists, s.items)
			continue
		}
		var all []string
		for _, name := range s.items {
			file, err := os.Open(name)
			if err != nil {
				return nil, fail(fmt.Errorf(":::: %w", err))
			}
			l, err := readLines(file, name)
			file.Close()
			if err != nil {
				return nil, err
			}
			all = append(all, l...)
		}
		lists = append(lists, all)
	}
	combos := [][]string{nil}
	for _, l := range lists {
		var next [][]string
		for _, c := range combos {
			for _, v := range l {
				next = append(next, append(append([]string(nil), c...), v))
			}
		}
		combos = next
	}
	if len(lists) == 0 {
		return nil, nil
	}
	for _, c := range combos {
		for _, v := range c {
			if strings.IndexByte(v, 1) >= 0 {
				return nil, fail(fmt.Errorf("argument %q: an argument cannot hold the byte \\x01", v))
			}
		}
	}
	return combos, nil
}

// readLines reads one argument per line; a NUL byte, which no argument
// can hold, is an error naming the line.
func readLines(r io.Reader, name string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.IndexByte(line, 0) >= 0 {
			return nil, fail(fmt.Errorf("%s:%d: an argument cannot hold a NUL byte", name, n))
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fail(fmt.Errorf("%s: %w", name, err))
	}
	return out, nil
}

// argPrelude starts the shell line of every argument-mode job: it reads the
// job's values from standard input, each ended by the byte \x01, into the positional
// parameters, so that they reach the command as data and are never parsed
// as shell code. The trailing "x" keeps the newlines that command
// substitution would strip.
const argPrelude = `dproc_a=$(cat; printf x) || exit 255
dproc_a=${dproc_a%x}
set --
while [ -n "$dproc_a" ]; do set -- "$@" "${dproc_a%%"$dproc_sep"*}"; dproc_a=${dproc_a#*"$dproc_sep"}; done
unset dproc_a dproc_sep
`

// argWrapper returns the shell line a job of argument mode runs: the
// prelude, then line with each {} replaced by "$*" (the values as one word,
// space-joined, as GNU parallel's {} is), or the values appended as words
// when line has no {}.
func argWrapper(line string) string {
	return "dproc_sep=$(printf '\\001')\n" + argPrelude + substitute(line, nil, false) + "\n"
}

// substitute replaces {} in line. With quote, it writes the values quoted
// for a shell (the command as the joblog shows it); otherwise it writes the
// shell's reference to the values.
func substitute(line string, vals []string, quote bool) string {
	repl := `"$*"`
	if quote {
		repl = transport.Quote(strings.Join(vals, " "))
	}
	if strings.Contains(line, "{}") {
		return strings.ReplaceAll(line, "{}", repl)
	}
	if !quote {
		return line + ` "$@"`
	}
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = transport.Quote(v)
	}
	return line + " " + strings.Join(q, " ")
}

// encodeVals is a job's standard input: each value followed by \x01, the
// separator the prelude splits on.
func encodeVals(vals []string) []byte {
	var b bytes.Buffer
	for _, v := range vals {
		b.WriteString(v)
		b.WriteByte(1)
	}
	return b.Bytes()
}

// argSplitter yields one chunk per job, holding its encoded values.
func argSplitter(jobs []argJob) split.Splitter {
	return split.SplitterFunc(func(ctx context.Context, yield func(split.Chunk) error) error {
		for i, j := range jobs {
			if err := ctx.Err(); err != nil {
				return err
			}
			data := encodeVals(j.vals)
			open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			if err := yield(split.NewChunk(i, -1, int64(len(data)), 1, open, nil)); err != nil {
				return err
			}
		}
		return nil
	})
}

// skipLogged drops the jobs a joblog says need not run again: every logged
// seq, or with failed only those whose last line succeeded.
func skipLogged(path string, jobs []argJob, failed bool) ([]argJob, error) {
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return jobs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--joblog: %w", err)
	}
	defer file.Close()
	entries, err := joblog.Read(file)
	if err != nil {
		return nil, fmt.Errorf("--joblog %s: %w", path, err)
	}
	logged, bad := joblog.Seqs(entries)
	skip := map[int64]bool{}
	for _, s := range logged {
		skip[s] = true
	}
	if failed {
		for _, s := range bad {
			delete(skip, s)
		}
	}
	var out []argJob
	for _, j := range jobs {
		if !skip[j.seq] {
			out = append(out, j)
		}
	}
	return out, nil
}

// sizes records the size of each chunk a splitter yields.
type sizes struct {
	mu sync.Mutex
	m  map[int]int64
}

func newSizes() *sizes { return &sizes{m: map[int]int64{}} }

func (s *sizes) wrap(sp split.Splitter) split.Splitter {
	return split.SplitterFunc(func(ctx context.Context, yield func(split.Chunk) error) error {
		return sp.Split(ctx, func(c split.Chunk) error {
			s.mu.Lock()
			s.m[c.Index] = c.Size
			s.mu.Unlock()
			return yield(c)
		})
	})
}

func (s *sizes) get(i int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[i]
}
