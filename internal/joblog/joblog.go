package joblog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header is the first line of a job log, GNU parallel's.
const Header = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

// columns are the header's names, by position.
var columns = [...]string{"Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command"}

// Entry is one line of a job log: one finished job.
type Entry struct {
	Seq     int64         // the job's number, from 1, in input order
	Host    string        // where it ran, as the sshlogin was written; GNU parallel writes ":" for the local computer
	Start   time.Time     // when it started; kept to the millisecond
	Runtime time.Duration // how long it ran; kept to the millisecond
	Send    int64         // bytes sent to it (its input)
	Receive int64         // bytes of its standard output
	Exitval int           // its exit code (0..255), or -1 when it was killed (timeout, cancel)
	Signal  int           // the signal that ended it, else 0
	Command string        // the command line it ran, after substitution
}

// Failed reports whether the job failed: a non-zero Exitval or Signal.
func (e Entry) Failed() bool { return e.Exitval != 0 || e.Signal != 0 }

// millis rounds a count of nanoseconds to milliseconds, halves away from
// zero.
func millis(ns int64) int64 {
	if ns < 0 {
		return -((-ns + 500_000) / 1_000_000)
	}
	return (ns + 500_000) / 1_000_000
}

// seconds formats milliseconds as seconds with 3 decimals.
func seconds(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// AppendLine appends e's line, ending in "\n", to b. Starttime is
// seconds since the epoch with 3 decimals; JobRuntime is seconds with 3
// decimals right-aligned in 10 columns ("     0.105"), as GNU parallel
// writes them. A newline in Command is written as a NUL byte, as GNU
// parallel does, so that each job stays on one line; tabs stay as they
// are.
func (e Entry) AppendLine(b []byte) []byte {
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, '\t')
	b = append(b, e.Host...)
	b = append(b, '\t')
	b = append(b, seconds(millis(e.Start.UnixNano()))...)
	b = append(b, '\t')
	b = fmt.Appendf(b, "%10s", seconds(millis(int64(e.Runtime))))
	b = append(b, '\t')
	b = strconv.AppendInt(b, e.Send, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, e.Receive, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(e.Exitval), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(e.Signal), 10)
	b = append(b, '\t')
	b = append(b, strings.ReplaceAll(e.Command, "\n", "\x00")...)
	return append(b, '\n')
}

// Writer writes a job log. It is safe for concurrent use: each entry is
// written whole, in one Write call. After a write fails, every later
// Write returns that error.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
}

// NewWriter returns a Writer that has written the Header to w.
func NewWriter(w io.Writer) (*Writer, error) {
	if _, err := io.WriteString(w, Header); err != nil {
		return nil, fmt.Errorf("joblog: header: %w", err)
	}
	return &Writer{w: w}, nil
}

// NewAppendWriter returns a Writer that writes no header: for adding to
// an existing log, as GNU parallel's --joblog +FILE, --resume and
// --resume-failed do.
func NewAppendWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes e's line.
func (w *Writer) Write(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.buf = e.AppendLine(w.buf[:0])
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("joblog: seq %d: %w", e.Seq, err)
		return w.err
	}
	return nil
}

// ErrFormat is matched by every *ParseError.
var ErrFormat = errors.New("bad job log")

// ParseError reports a line of a job log that cannot be read.
type ParseError struct {
	Line  int    // 1-based
	Field string // the column's name ("Exitval"), or "" for the line as a whole
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("joblog: line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("joblog: line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// Unwrap returns ErrFormat.
func (e *ParseError) Unwrap() error { return ErrFormat }

// Read reads a job log written by GNU parallel or by a Writer. The header
// is optional, and read by position (older GNU parallel says Runtime,
// newer JobRuntime). A line is cut at its first 8 tabs, so a Command may
// hold tabs; NUL bytes in it become newlines again. Blank lines are
// skipped. A last line with no newline is dropped: it is what a writer
// that died mid-line leaves, and its job counts as not logged, so a
// resume runs it again.
func Read(r io.Reader) ([]Entry, error) {
	br := bufio.NewReader(r)
	var out []Entry
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("joblog: line %d: %w", n, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if n == 1 && strings.HasPrefix(line, "Seq\t") {
			continue
		}
		e, perr := parseLine(line, n)
		if perr != nil {
			return nil, perr
		}
		out = append(out, e)
	}
}

func parseLine(line string, n int) (Entry, error) {
	f := strings.SplitN(line, "\t", len(columns))
	if len(f) < len(columns) {
		return Entry{}, &ParseError{Line: n, Msg: fmt.Sprintf("%d fields, want %d separated by tabs", len(f), len(columns))}
	}
	bad := func(i int, why string) error {
		return &ParseError{Line: n, Field: columns[i], Msg: fmt.Sprintf("%q %s", f[i], why)}
	}
	var e Entry
	ints := []struct {
		i   int
		dst *int64
	}{{0, &e.Seq}, {4, &e.Send}, {5, &e.Receive}}
	for _, x := range ints {
		v, err := strconv.ParseInt(f[x.i], 10, 64)
		if err != nil {
			return Entry{}, bad(x.i, "is not a whole number")
		}
		*x.dst = v
	}
	for _, x := range []struct {
		i   int
		dst *int
	}{{6, &e.Exitval}, {7, &e.Signal}} {
		v, err := strconv.Atoi(f[x.i])
		if err != nil {
			return Entry{}, bad(x.i, "is not a whole number")
		}
		*x.dst = v
	}
	start, ok := parseMillis(f[2])
	if !ok {
		return Entry{}, bad(2, "is not seconds")
	}
	run, ok := parseMillis(strings.TrimLeft(f[3], " "))
	if !ok {
		return Entry{}, bad(3, "is not seconds")
	}
	e.Host = f[1]
	e.Start = time.UnixMilli(start)
	e.Runtime = time.Duration(run) * time.Millisecond
	e.Command = strings.ReplaceAll(f[8], "\x00", "\n")
	return e, nil
}

// parseMillis reads "123.456" (up to 3 decimals, or none) as
// milliseconds, exactly.
func parseMillis(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 3 {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, false
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1<<53 {
		return 0, false
	}
	frac += strings.Repeat("0", 3-len(frac))
	fr, _ := strconv.ParseInt(frac, 10, 64)
	ms := w*1000 + fr
	if neg {
		ms = -ms
	}
	return ms, true
}

// Seqs tells what a resume needs from a log. The last line of a seq
// wins, as in GNU parallel, where a resumed run appends. logged is every
// seq with a line (what --resume skips); failed is every seq whose last
// line failed (what --resume-failed runs again). Both are sorted.
func Seqs(entries []Entry) (logged, failed []int64) {
	last := map[int64]Entry{}
	for _, e := range entries {
		last[e.Seq] = e
	}
	for seq, e := range last {
		logged = append(logged, seq)
		if e.Failed() {
			failed = append(failed, seq)
		}
	}
	sort.Slice(logged, func(i, j int) bool { return logged[i] < logged[j] })
	sort.Slice(failed, func(i, j int) bool { return failed[i] < failed[j] })
	return logged, failed
}

// ExitStatus returns the exit status GNU parallel ends with under
// --halt never (its default) when failed jobs failed: 0 when none did,
// the number of failed jobs from 1 to 100, and 101 for more than 100.
func ExitStatus(failed int) int {
	switch {
	case failed <= 0:
		return 0
	case failed > 100:
		return 101
	}
	return failed
}
