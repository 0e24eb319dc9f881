package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"dproc/split"
)

// ErrJournalExists is wrapped by the error of a run without
// RunOptions.Resume whose RunOptions.Journal directory already holds a
// journal (resume from it, or remove it to start over), and of a run whose
// journal another run is using at the same time.
var ErrJournalExists = errors.New("journal already exists")

// errLocked is lockFile's error for a file another open file has locked.
var errLocked = errors.New("file is locked")

// ErrJournalMismatch is wrapped by the error of a run asked to resume from a
// journal that was written for another job or another input.
var ErrJournalMismatch = errors.New("journal does not match this run")

const journalMagic = "dproc-journal v1"

// journal records committed chunks durably so that a run killed half way
// can resume. Layout of its directory:
//
//	journal.log            header line, then one line per committed chunk
//	results/NNNNNNNN.out   each committed chunk's output
//
// A chunk line is "chunk INDEX OFFSET SIZE INPUT-CRC32C OUTPUT-SIZE
// OUTPUT-SHA256". The log and each result file are fsynced before the line
// that names them is written, so a line in the log always means its result
// is complete. A torn last line (the coordinator died while writing it) is
// ignored.
type journal struct {
	dir  string
	mu   sync.Mutex
	f    *os.File
	done map[int]journalEntry
}

type journalEntry struct {
	index          int
	offset, size   int64
	inCRC          uint32
	outSize        int64
	outSum         string
	resultFilePath string
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// jobKey identifies a job for the journal: everything that changes what a
// chunk's output is. Environment values are hashed, never stored.
func jobKey(job plan) string {
	h := sha256.New()
	c := job.Command
	fmt.Fprintf(h, "mode=%d\x00args=%q\x00shell=%q\x00dir=%q\x00", job.Mode, c.Args, c.Shell, c.Dir)
	for _, e := range c.Env {
		fmt.Fprintf(h, "env=%q\x00", e)
	}
	for _, f := range job.Setup {
		fmt.Fprintf(h, "setup=%q:%o:%s\x00", f.Path, f.Mode, f.Sum())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// openJournal opens or creates the journal in dir. With resume, an existing
// journal must have been written for the same job; without it, an existing
// journal is an error, so that a run never mixes old results in by mistake.
func openJournal(dir string, job plan, resume bool) (*journal, error) {
	if err := os.MkdirAll(filepath.Join(dir, "results"), 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &journal{dir: dir, done: map[int]journalEntry{}}
	logPath := filepath.Join(dir, "journal.log")
	key := jobKey(job)
	header := fmt.Sprintf("%s job=%s command=%s %s", journalMagic, key, strconv.Quote(job.Command.String()), describeJob(job))
	// The log is opened once, locked, then read: a second run on the same
	// directory, at the same time, is refused rather than mixed in.
	f, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	kept := false
	defer func() {
		if !kept {
			f.Close()
		}
	}()
	if err := lockFile(f); err != nil {
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("journal %s: %w: another run is using it", logPath, ErrJournalExists)
		}
		return nil, fmt.Errorf("journal: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if len(data) == 0 {
		if _, err := f.WriteString(header + "\n"); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		kept, j.f = true, f
		return j, nil
	}
	if !resume {
		return nil, fmt.Errorf("journal %s: %w: resume from it, or remove it to start over", logPath, ErrJournalExists)
	}
	lines := strings.Split(string(data), "\n")
	first := lines[0]
	if !strings.HasPrefix(first, journalMagic+" ") {
		return nil, fmt.Errorf("journal %s: %w: not a dproc journal", logPath, ErrJournalMismatch)
	}
	if !strings.Contains(first, " job="+key+" ") {
		return nil, fmt.Errorf("journal %s: %w: it was written for another job: %s",
			logPath, ErrJournalMismatch, jobDiff(parseHeader(first), job))
	}
	complete := len(lines) - 1 // the last element follows the last newline
	for n, line := range lines[1:complete] {
		e, err := parseJournalLine(line)
		if err != nil {
			return nil, fmt.Errorf("journal %s line %d: %w", logPath, n+2, err)
		}
		if _, dup := j.done[e.index]; !dup {
			e.resultFilePath = j.resultPath(e.index)
			j.done[e.index] = e
		}
	}
	// Drop a torn last line; appends then follow the last whole line.
	if tail := lines[complete]; tail != "" {
		if err := f.Truncate(int64(len(data) - len(tail))); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	kept, j.f = true, f
	return j, nil
}

func parseJournalLine(line string) (journalEntry, error) {
	var e journalEntry
	f := strings.Fields(line)
	if len(f) != 7 || f[0] != "chunk" {
		return e, errors.New("malformed entry")
	}
	var err error
	var crc uint64
	if e.index, err = strconv.Atoi(f[1]); err == nil {
		if e.offset, err = strconv.ParseInt(f[2], 10, 64); err == nil {
			if e.size, err = strconv.ParseInt(f[3], 10, 64); err == nil {
				if crc, err = strconv.ParseUint(f[4], 16, 32); err == nil {
					e.outSize, err = strconv.ParseInt(f[5], 10, 64)
				}
			}
		}
	}
	if err != nil || len(f[6]) != 64 {
		return e, errors.New("malformed entry")
	}
	e.inCRC = uint32(crc)
	e.outSum = f[6]
	return e, nil
}

func (j *journal) resultPath(index int) string {
	return filepath.Join(j.dir, "results", fmt.Sprintf("%08d.out", index))
}

// has reports whether the journal records chunk index as committed.
func (j *journal) has(index int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.done[index]
	return ok
}

// lookup returns the journal's entry for c, after checking that c still has
// the bytes it had when the entry was written. A mismatch means the input
// changed: an error wrapping ErrJournalMismatch.
func (j *journal) lookup(c split.Chunk) (journalEntry, bool, error) {
	j.mu.Lock()
	e, ok := j.done[c.Index]
	j.mu.Unlock()
	if !ok {
		return e, false, nil
	}
	crc, err := chunkCRC(c)
	if err != nil {
		return e, false, err
	}
	if e.offset != c.Offset || e.size != c.Size || e.inCRC != crc {
		return e, false, fmt.Errorf("journal %s: %w: chunk %d of the input changed since it was recorded",
			j.dir, ErrJournalMismatch, c.Index)
	}
	return e, true, nil
}

// replay copies a recorded result into w, checking its digest.
func (j *journal) replay(e journalEntry, w io.Writer) error {
	f, err := os.Open(e.resultFilePath)
	if err != nil {
		return fmt.Errorf("journal result of chunk %d: %w", e.index, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		return fmt.Errorf("journal result of chunk %d: %w", e.index, err)
	}
	if n != e.outSize || hex.EncodeToString(h.Sum(nil)) != e.outSum {
		return fmt.Errorf("journal result of chunk %d: %w: file %s does not match its checksum",
			e.index, ErrJournalMismatch, e.resultFilePath)
	}
	return nil
}

// record keeps an attempt's output file as chunk c's result and appends its
// entry. tmp holds the output, already written; record syncs and renames it.
func (j *journal) record(c split.Chunk, tmp *os.File, outSize int64, outSum string) error {
	crc, err := chunkCRC(c)
	if err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	final := j.resultPath(c.Index)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return err
	}
	line := fmt.Sprintf("chunk %d %d %d %08x %d %s\n", c.Index, c.Offset, c.Size, crc, outSize, outSum)
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.WriteString(line); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	j.done[c.Index] = journalEntry{index: c.Index, offset: c.Offset, size: c.Size, inCRC: crc,
		outSize: outSize, outSum: outSum, resultFilePath: final}
	return nil
}

// tempResult returns a new temp file in the results directory for one
// attempt's output.
func (j *journal) tempResult(index, attempt int) (*os.File, error) {
	return os.CreateTemp(filepath.Join(j.dir, "results"), fmt.Sprintf(".%08d.%d.*.tmp", index, attempt))
}

func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	return j.f.Close()
}

func chunkCRC(c split.Chunk) (uint32, error) {
	rc, err := c.Open()
	if err != nil {
		return 0, &fatalError{fmt.Errorf("opening chunk %d: %w", c.Index, err)}
	}
	defer rc.Close()
	h := crc32.New(crcTable)
	if _, err := io.Copy(h, rc); err != nil {
		return 0, &fatalError{fmt.Errorf("reading chunk %d: %w", c.Index, err)}
	}
	return h.Sum32(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// describeJob renders what jobKey hashes as header fields, so that a
// mismatch can say what differs. Environment values are hashed, never
// stored; Job.Name is kept for messages only.
func describeJob(job plan) string {
	c := job.Command
	var b strings.Builder
	fmt.Fprintf(&b, "mode=%s dir=%s env=%s", job.Mode, strconv.Quote(c.Dir), envSum(c.Env))
	if c.Shell != "" {
		fmt.Fprintf(&b, " shell=%s", strconv.Quote(c.Shell))
	} else {
		fmt.Fprintf(&b, " args=%s", strconv.Quote(strings.Join(quoteAll(c.Args), " ")))
	}
	if job.Name != "" {
		fmt.Fprintf(&b, " name=%s", strconv.Quote(job.Name))
	}
	for _, f := range job.Setup {
		fmt.Fprintf(&b, " file=%s", strconv.Quote(fmt.Sprintf("%o:%s:%s", f.Mode, f.Sum(), f.Path)))
	}
	return b.String()
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strconv.Quote(a)
	}
	return out
}

func envSum(env []string) string {
	h := sha256.New()
	for _, e := range env {
		fmt.Fprintf(h, "%q\x00", e)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// header is a journal's first line, parsed: each key's values in order.
type header map[string][]string

// parseHeader reads the key=value fields of a journal header; a value is a
// Go-quoted string or a word. Fields it cannot read are skipped.
func parseHeader(line string) header {
	h := header{}
	rest := strings.TrimPrefix(line, journalMagic)
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return h
		}
		key, after, ok := strings.Cut(rest, "=")
		if !ok || strings.Contains(key, " ") {
			_, rest, _ = strings.Cut(rest, " ")
			continue
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return h
			}
			val, _ = strconv.Unquote(q)
			rest = after[len(q):]
		} else {
			val, rest, _ = strings.Cut(after, " ")
		}
		h[key] = append(h[key], val)
	}
}

func (h header) one(key string) (string, bool) {
	v, ok := h[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// jobDiff says how job differs from the job a journal header describes.
func jobDiff(old header, job plan) string {
	now := parseHeader(journalMagic + " " + describeJob(job))
	if _, ok := old.one("mode"); !ok {
		// A journal from before headers described the job.
		cmd, _ := old.one("command")
		return fmt.Sprintf("command %q (or its directory, environment, mode or setup files), now %q", cmd, job.Command.String())
	}
	var diffs []string
	for _, k := range []struct{ key, what string }{
		{"mode", "mode"}, {"shell", "shell line"}, {"args", "arguments"}, {"dir", "directory"},
	} {
		o, ook := old.one(k.key)
		n, nok := now.one(k.key)
		if ook == nok && o == n {
			continue
		}
		if k.key == "args" {
			// Already a list of quoted words.
			o, n = "["+o+"]", "["+n+"]"
			if !ook {
				o = "(none)"
			}
			if !nok {
				n = "(none)"
			}
		} else {
			o, n = orNone(o, ook), orNone(n, nok)
		}
		diffs = append(diffs, fmt.Sprintf("%s %s, now %s", k.what, o, n))
	}
	if o, _ := old.one("env"); o != func() string { n, _ := now.one("env"); return n }() {
		diffs = append(diffs, "environment differs")
	}
	type file struct{ mode, sum string }
	files := func(h header) (map[string]file, []string) {
		m := map[string]file{}
		var order []string
		for _, v := range h["file"] {
			parts := strings.SplitN(v, ":", 3)
			if len(parts) != 3 {
				continue
			}
			if _, dup := m[parts[2]]; !dup {
				order = append(order, parts[2])
			}
			m[parts[2]] = file{parts[0], parts[1]}
		}
		return m, order
	}
	of, oorder := files(old)
	nf, norder := files(now)
	for _, p := range norder {
		o, ok := of[p]
		n := nf[p]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("setup file %s is new", p))
		case o.sum != n.sum:
			diffs = append(diffs, fmt.Sprintf("setup file %s content differs (sha256 %.12s, now %.12s)", p, o.sum, n.sum))
		case o.mode != n.mode:
			diffs = append(diffs, fmt.Sprintf("setup file %s mode %s, now %s", p, o.mode, n.mode))
		}
	}
	for _, p := range oorder {
		if _, ok := nf[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("setup file %s is gone", p))
		}
	}
	if len(diffs) == 0 {
		diffs = append(diffs, "the job's fingerprint differs")
	}
	s := strings.Join(diffs, "; ")
	if o, ok := old.one("name"); ok {
		if n := job.Name; n != o {
			s += fmt.Sprintf(" (the journal's job was %q, this one is %q)", o, n)
		}
	}
	return s
}

func orNone(v string, ok bool) string {
	if !ok {
		return "(none)"
	}
	return strconv.Quote(v)
}
