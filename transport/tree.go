package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Entry describes one file, directory or symbolic link under a directory on
// a host, as [ListTree] reports it.
type Entry struct {
	// Path is slash-separated and relative to the listed directory; it is
	// never empty, ".", absolute or holding a ".." element.
	Path string
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink, ...) and the
	// permission bits, setuid, setgid and sticky included.
	Mode fs.FileMode
	// Size is the length in bytes of a regular file (what the host reports
	// for other types).
	Size int64
	// ModTime is the modification time of the entry itself (of the link,
	// not its target, for a symbolic link).
	ModTime time.Time
	// Target is the target of a symbolic link, as stored in the link.
	Target string
	// Sum is the lowercase hex SHA-256 of a regular file's content when
	// sums were asked for, and "" otherwise.
	Sum string
}

// TreeOpKind names what a [TreeOp] does.
type TreeOpKind int

// The kinds of [TreeOp]. Each acts on Path, relative to the directory given
// to [ApplyTree], and never follows a symbolic link at Path itself (the
// parents of Path are resolved as the host resolves them: a caller that does
// not trust them replaces them first with OpMkdir).
const (
	// OpMkdir makes Path a directory with permissions Mode: an existing
	// directory is kept (and given Mode); anything else at Path, a
	// symbolic link included, is removed first.
	OpMkdir TreeOpKind = iota + 1
	// OpChmod sets the permissions of Path to Mode (setuid, setgid and
	// sticky included). A symbolic link is left alone.
	OpChmod
	// OpChtimes sets the modification (and access) time of Path to
	// ModTime, of the link itself for a symbolic link.
	OpChtimes
	// OpSymlink makes Path a symbolic link to Target, replacing whatever
	// is there atomically (a directory is removed first).
	OpSymlink
	// OpRemoveAll removes Path and everything under it; a missing Path is
	// not an error.
	OpRemoveAll
	// OpStamp atomically writes the file Path with the host's own current
	// time (UTC, read on the host when the op runs) and Digest; see
	// [ParseStamp].
	OpStamp
)

func (k TreeOpKind) String() string {
	switch k {
	case OpMkdir:
		return "mkdir"
	case OpChmod:
		return "chmod"
	case OpChtimes:
		return "chtimes"
	case OpSymlink:
		return "symlink"
	case OpRemoveAll:
		return "removeall"
	case OpStamp:
		return "stamp"
	}
	return "TreeOpKind(" + strconv.Itoa(int(k)) + ")"
}

// TreeOp is one change [ApplyTree] makes under a directory.
type TreeOp struct {
	Kind TreeOpKind
	// Path is slash-separated and relative to the directory; it must be
	// clean and hold no ".." element. "." (the directory itself) is
	// allowed for OpChmod and OpChtimes only.
	Path string
	// Mode is the permissions for OpMkdir and OpChmod (type bits are
	// ignored).
	Mode fs.FileMode
	// ModTime is the time for OpChtimes.
	ModTime time.Time
	// Target is the link target for OpSymlink; it must not be empty.
	Target string
	// Digest is the digest written by OpStamp; it must hold no newline.
	Digest string
}

// Tree is implemented by transports that can list and change a directory
// tree on a host natively. [ListTree] and [ApplyTree] use it when a
// Transport has it, and otherwise run POSIX sh with GNU find, coreutils and
// sha256sum on the host, one command per call.
//
// Both methods must be safe for concurrent use, honour ctx as the
// [Transport] methods do, and return an error for which errors.Is(err,
// [ErrClosed]) holds after Close. A relative dir is resolved against the
// host's home directory; an empty dir is the home directory itself.
type Tree interface {
	// ListTree lists every entry under dir on host, recursively, in any
	// order, without dir itself and without following symbolic links
	// (a link to a directory is listed as a link, and nothing under it).
	// When sums is true, every regular file's Entry.Sum is filled in. A
	// dir that does not exist is an empty list and a nil error.
	ListTree(ctx context.Context, host, dir string, sums bool) ([]Entry, error)

	// ApplyTree creates dir (and its parents) if it does not exist, then
	// applies ops under it in order, stopping at the first that fails.
	// The ops have been checked by the caller ([ApplyTree] does it).
	ApplyTree(ctx context.Context, host, dir string, ops []TreeOp) error
}

// ListTree lists every entry under dir on host, with t's [Tree] when it has
// one and otherwise with one find command (see [Tree.ListTree] for the
// contract). The entries are returned sorted by Path.
func ListTree(ctx context.Context, t Transport, host, dir string, sums bool) ([]Entry, error) {
	var (
		entries []Entry
		err     error
	)
	if tr, ok := t.(Tree); ok {
		entries, err = tr.ListTree(ctx, host, dir, sums)
	} else {
		entries, err = listTreeSh(ctx, t, host, dir, sums)
	}
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

// ApplyTree applies ops under dir on host in order, with t's [Tree] when it
// has one and otherwise with one generated sh script (see [Tree.ApplyTree]
// for the contract). Ops that are malformed are reported as an error
// matching [ErrInvalid] before anything runs.
func ApplyTree(ctx context.Context, t Transport, host, dir string, ops []TreeOp) error {
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return &OpError{Op: "applytree", Host: host, Path: op.Path, Err: fmt.Errorf("%w: op %d: %s", ErrInvalid, i, err)}
		}
	}
	if tr, ok := t.(Tree); ok {
		return tr.ApplyTree(ctx, host, dir, ops)
	}
	return applyTreeSh(ctx, t, host, dir, ops)
}

// checkOp reports what is wrong with op, or nil.
func checkOp(op TreeOp) error {
	if err := checkRel(op.Path, op.Kind == OpChmod || op.Kind == OpChtimes); err != nil {
		return err
	}
	switch op.Kind {
	case OpMkdir, OpChmod, OpChtimes, OpRemoveAll:
	case OpSymlink:
		if op.Target == "" || strings.IndexByte(op.Target, 0) >= 0 {
			return fmt.Errorf("bad symlink target %q", op.Target)
		}
	case OpStamp:
		if strings.ContainsAny(op.Digest, "\n\x00") {
			return fmt.Errorf("stamp digest holds a newline or NUL")
		}
	default:
		return fmt.Errorf("unknown kind %v", op.Kind)
	}
	return nil
}

// checkRel reports whether p is a clean relative path inside a directory.
func checkRel(p string, dotOK bool) error {
	switch {
	case p == ".":
		if dotOK {
			return nil
		}
		return fmt.Errorf("path %q names the directory itself", p)
	case p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q is not clean and relative", p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("path %q holds NUL", p)
	}
	return nil
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}

// ----- the sh fallback -----

// listScript lists the current directory (after the cd put before it): one
// record per entry of three NUL-terminated fields "TYPE PERM SIZE MTIME",
// path and link target; then, when sums are asked for, the word SUMS and
// sha256sum -z lines "HEX  ./path".
const listScript = `find . -mindepth 1 -printf '%y %m %s %T@\0%P\0%l\0' || exit 1
`
const sumScript = `printf 'SUMS\0' && find . -mindepth 1 -type f -exec sha256sum -z -- {} + || exit 1
`

func cdLine(dir string, missingOK bool) string {
	if dir == "" {
		return ""
	}
	q := Quote(dir)
	if missingOK {
		return "[ -e " + q + " ] || [ -L " + q + " ] || exit 0\ncd -- " + q + " || exit 1\n"
	}
	return "mkdir -p -- " + q + " && cd -- " + q + " || exit 1\n"
}

func listTreeSh(ctx context.Context, t Transport, host, dir string, sums bool) ([]Entry, error) {
	script := cdLine(dir, true) + listScript
	if sums {
		script += sumScript
	}
	var out bytes.Buffer
	if err := t.Run(ctx, host, &Command{Shell: script, Stdout: &out}); err != nil {
		return nil, err
	}
	entries, err := parseListing(out.Bytes())
	if err != nil {
		return nil, &OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	return entries, nil
}

// parseListing parses the output of listScript and sumScript.
func parseListing(b []byte) ([]Entry, error) {
	fields := bytes.Split(b, []byte{0})
	if len(fields) > 0 && len(fields[len(fields)-1]) == 0 {
		fields = fields[:len(fields)-1]
	}
	var entries []Entry
	i := 0
	for ; i < len(fields); i += 3 {
		if string(fields[i]) == "SUMS" {
			i++
			break
		}
		if i+3 > len(fields) {
			return nil, fmt.Errorf("listing: truncated record")
		}
		e, err := parseRecord(string(fields[i]), string(fields[i+1]), string(fields[i+2]))
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if i >= len(fields) {
		return entries, nil
	}
	byPath := make(map[string]int, len(entries))
	for j, e := range entries {
		byPath[e.Path] = j
	}
	for ; i < len(fields); i++ {
		line := string(fields[i])
		sum, p, ok := strings.Cut(line, "  ./")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("listing: bad sha256sum line %q", line)
		}
		if j, ok := byPath[p]; ok {
			entries[j].Sum = sum
		}
	}
	return entries, nil
}

func parseRecord(meta, p, target string) (Entry, error) {
	f := strings.Fields(meta)
	if len(f) != 4 || len(f[0]) != 1 {
		return Entry{}, fmt.Errorf("listing: bad record %q", meta)
	}
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	mtime, err3 := parseEpoch(f[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return Entry{}, fmt.Errorf("listing: bad record %q", meta)
	}
	e := Entry{Path: p, Mode: fromUnixMode(uint32(perm)), Size: size, ModTime: mtime}
	switch f[0][0] {
	case 'f':
	case 'd':
		e.Mode |= fs.ModeDir
	case 'l':
		e.Mode |= fs.ModeSymlink
		e.Target = target
	case 'p':
		e.Mode |= fs.ModeNamedPipe
	case 's':
		e.Mode |= fs.ModeSocket
	case 'c':
		e.Mode |= fs.ModeDevice | fs.ModeCharDevice
	case 'b':
		e.Mode |= fs.ModeDevice
	default:
		e.Mode |= fs.ModeIrregular
	}
	if err := checkRel(p, false); err != nil {
		return Entry{}, fmt.Errorf("listing: %s", err)
	}
	return e, nil
}

// parseEpoch parses find's %T@: seconds since the epoch with a fraction.
func parseEpoch(s string) (time.Time, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	secStr, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var nsec int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec), nil
}

// fromUnixMode turns the low 12 bits of a Unix mode into an fs.FileMode.
func fromUnixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// unixMode turns the permission, setuid, setgid and sticky bits of m into a
// Unix mode.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// touchTime formats t for touch -d.
func touchTime(t time.Time) string {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if sec < 0 && nsec > 0 {
		return fmt.Sprintf("@-%d.%09d", -(sec + 1), 1e9-nsec)
	}
	return fmt.Sprintf("@%d.%09d", sec, nsec)
}

// maxGroup bounds the bytes of paths one generated command takes.
const maxGroup = 32 << 10

// sameGroup reports whether b can join the command made for a.
func sameGroup(a, b TreeOp) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case OpMkdir, OpChmod:
		return unixMode(a.Mode) == unixMode(b.Mode)
	case OpChtimes:
		return a.ModTime.Equal(b.ModTime)
	case OpRemoveAll:
		return true
	}
	return false
}

// treeScript returns the sh script that applies ops under dir. Consecutive
// ops of one kind with the same mode or time share one command.
func treeScript(dir string, ops []TreeOp) string {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	token := hex.EncodeToString(rnd[:])
	var b strings.Builder
	b.WriteString("set -e\n")
	b.WriteString(cdLine(dir, false))
	for i := 0; i < len(ops); {
		op := ops[i]
		ps := []string{Quote("./" + op.Path)}
		size := len(ps[0])
		j := i + 1
		for ; j < len(ops) && size < maxGroup && sameGroup(op, ops[j]); j++ {
			q := Quote("./" + ops[j].Path)
			ps = append(ps, q)
			size += len(q) + 1
		}
		p, all := ps[0], strings.Join(ps, " ")
		tmp := Quote("./" + path.Join(path.Dir(op.Path), ".dproc-"+token+"-"+strconv.Itoa(i)))
		switch op.Kind {
		case OpMkdir:
			// One mkdir for all: it makes its arguments in order,
			// parents first; -p because another host may make the
			// same directory at once (a home shared over NFS).
			fmt.Fprintf(&b, "set --; for d in %[1]s; do if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then [ ! -e \"$d\" ] && [ ! -L \"$d\" ] || rm -rf -- \"$d\"; set -- \"$@\" \"$d\"; fi; done; [ $# -eq 0 ] || mkdir -p -- \"$@\"; chmod 0%04[2]o -- %[1]s\n", all, unixMode(op.Mode))
		case OpChmod:
			// find skips symbolic links, which chmod would follow.
			fmt.Fprintf(&b, "find %s -prune ! -type l -exec chmod 0%04o {} +\n", all, unixMode(op.Mode))
		case OpChtimes:
			fmt.Fprintf(&b, "touch -h -c -d %s -- %s\n", touchTime(op.ModTime), all)
		case OpRemoveAll:
			fmt.Fprintf(&b, "rm -rf -- %s\n", all)
		case OpSymlink:
			fmt.Fprintf(&b, "if [ -d %[1]s ] && [ ! -L %[1]s ]; then rm -rf -- %[1]s; fi; rm -f -- %[2]s; ln -s -- %[3]s %[2]s; mv -Tf -- %[2]s %[1]s\n", p, tmp, Quote(op.Target))
		case OpStamp:
			fmt.Fprintf(&b, "{ printf 'synced %%s\\ndigest %%s\\n' \"$(date -u +%%Y-%%m-%%dT%%H:%%M:%%S.%%NZ)\" %[3]s; } > %[2]s; mv -Tf -- %[2]s %[1]s\n", p, tmp, Quote(op.Digest))
		}
		i = j
	}
	return b.String()
}

func applyTreeSh(ctx context.Context, t Transport, host, dir string, ops []TreeOp) error {
	// The script goes on standard input: a command line is limited to
	// 128 KiB by Linux, and a script for a large tree is longer.
	return t.Run(ctx, host, &Command{Args: []string{"sh", "-s"}, Stdin: strings.NewReader(treeScript(dir, ops))})
}

// Stamp is the content of a stamp file written by [OpStamp].
type Stamp struct {
	Time   time.Time // the host's clock when the stamp was written
	Digest string
}

// ParseStamp parses a stamp file written by [OpStamp]: the lines
// "synced TIME" (RFC 3339, UTC, host time) and "digest DIGEST".
func ParseStamp(b []byte) (Stamp, error) {
	var s Stamp
	var haveTime bool
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "synced":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return Stamp{}, fmt.Errorf("stamp: %w", err)
			}
			s.Time, haveTime = t, true
		case "digest":
			s.Digest = val
		default:
			return Stamp{}, fmt.Errorf("stamp: unexpected line %q", line)
		}
	}
	if !haveTime {
		return Stamp{}, fmt.Errorf("stamp: no time")
	}
	return s, nil
}
