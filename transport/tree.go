package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
// host's home directory; an empty dir is the home directory itself. The
// callers in this package have already read a leading "~" (see the package
// doc on paths), so dir never starts with "~/".
type Tree interface {
	// ListTree lists every entry under dir on host, recursively, in any
	// order, without dir itself and without following symbolic links
	// (a link to a directory is listed as a link, and nothing under it).
	// When sums is true, every regular file's Entry.Sum is filled in. A
	// dir that does not exist is an empty list and a nil error; a dir
	// that exists and is not a directory (nor a link to one) is an error
	// for which errors.Is(err, [ErrNotDir]) holds.
	ListTree(ctx context.Context, host, dir string, sums bool) ([]Entry, error)

	// ApplyTree creates dir (and its parents) if it does not exist, then
	// applies ops under it in order, stopping at the first that fails.
	// The ops have been checked by the caller ([ApplyTree] does it).
	ApplyTree(ctx context.Context, host, dir string, ops []TreeOp) error
}

// ErrNotDir is wrapped by errors about a directory argument (the
// destination of [Sync], the dir of [ListTree]) that names something on the
// host other than a directory or a symbolic link to one.
var ErrNotDir = errors.New("not a directory")

// Location says what a path names on a host, as [Locate] reports it.
type Location struct {
	// Home is the host's home directory, where a command with an empty
	// [Command.Dir] starts: absolute, with every symbolic link resolved.
	Home string
	// Exists is true when something is at the path (a dangling symbolic
	// link counts).
	Exists bool
	// Type is what the path names once symbolic links are followed,
	// meaningful when Exists: fs.ModeDir for a directory, 0 for a regular
	// file, fs.ModeSymlink for a link that leads nowhere (dangling, or a
	// loop), fs.ModeIrregular for anything else (a device, a socket, a
	// named pipe).
	Type fs.FileMode
	// Dir is the directory, absolute with every symbolic link resolved,
	// when Type is fs.ModeDir; "" otherwise.
	Dir string
}

// IsDir reports whether the path is a directory (or a link to one).
func (l Location) IsDir() bool { return l.Exists && l.Type == fs.ModeDir }

// kind names l's type for a message: "a file", "a directory", ...
func (l Location) kind() string {
	switch {
	case !l.Exists:
		return "missing"
	case l.Type == fs.ModeDir:
		return "a directory"
	case l.Type == 0:
		return "a file"
	case l.Type == fs.ModeSymlink:
		return "a symbolic link that leads nowhere"
	}
	return "a special file"
}

// Locator is implemented by transports that can tell natively where a path
// leads on a host. [Locate] uses it when a Transport has it, and otherwise
// runs one POSIX sh command on the host. Locate must be safe for concurrent
// use, honour ctx as the [Transport] methods do, and return an error for
// which errors.Is(err, [ErrClosed]) holds after Close. A relative dir is
// resolved against the home directory, an empty dir is the home directory,
// and a missing path is a Location with Exists false and a nil error.
type Locator interface {
	Locate(ctx context.Context, host, dir string) (Location, error)
}

// Locate reports what dir names on host, following symbolic links as the
// host does (so a path that is, or leads through a link to, the home
// directory has Dir equal to Home), with t's [Locator] when it has one and
// otherwise with one sh command ("cd DIR && pwd -P" against the home's
// "pwd -P"). It changes nothing on the host. [Sync] uses it to refuse a
// deleting sync onto the home directory.
func Locate(ctx context.Context, t Transport, host, dir string) (Location, error) {
	dir, err := homeRel(dir)
	if err != nil {
		return Location{}, &OpError{Op: "locate", Host: host, Path: dir, Err: err}
	}
	return locate(ctx, t, host, dir)
}

func locate(ctx context.Context, t Transport, host, dir string) (Location, error) {
	if l, ok := t.(Locator); ok {
		return l.Locate(ctx, host, dir)
	}
	var out bytes.Buffer
	if err := t.Run(ctx, host, &Command{Shell: locateScript(dir, 0, false), Stdout: &out}); err != nil {
		return Location{}, err
	}
	loc, rest, _, err := parseLocation(out.Bytes())
	if err == nil && len(rest) > 0 {
		err = errors.New("locate: unexpected output")
	}
	if err != nil {
		return Location{}, &OpError{Op: "locate", Host: host, Path: dir, Err: err}
	}
	return loc, nil
}

// ListTree lists every entry under dir on host, with t's [Tree] when it has
// one and otherwise with one find command (see [Tree.ListTree] for the
// contract). The entries are returned sorted by Path. A dir that exists and
// is not a directory is an error matching [ErrNotDir]. An empty dir, "~" and
// "~/" are the home directory.
func ListTree(ctx context.Context, t Transport, host, dir string, sums bool) ([]Entry, error) {
	dir, err := homeRel(dir)
	if err != nil {
		return nil, &OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	if tr, ok := t.(Tree); ok {
		entries, err := tr.ListTree(ctx, host, dir, sums)
		if err != nil {
			return nil, err
		}
		sortEntries(entries)
		return entries, nil
	}
	loc, entries, _, err := listTreeSh(ctx, t, host, dir, sums, false)
	if loc.Exists && !loc.IsDir() {
		return nil, &OpError{Op: "listtree", Host: host, Path: dir, Err: &notDirError{msg: "not a directory: it is " + loc.kind(), cause: err}}
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
// matching [ErrInvalid] before anything runs. An empty dir, "~" and "~/" are
// the home directory; the paths of ops are names inside dir, taken as they
// are ("~" there is a file named "~").
func ApplyTree(ctx context.Context, t Transport, host, dir string, ops []TreeOp) error {
	dir, err := homeRel(dir)
	if err != nil {
		return &OpError{Op: "applytree", Host: host, Path: dir, Err: err}
	}
	return applyChecked(ctx, t, host, dir, ops)
}

// applyChecked is [ApplyTree] with dir read by homeRel.
func applyChecked(ctx context.Context, t Transport, host, dir string, ops []TreeOp) error {
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return &OpError{Op: "applytree", Host: host, Path: op.Path, Err: fmt.Errorf("%w: op %d: %s", ErrInvalid, i, err)}
		}
	}
	return applyTree(ctx, t, host, dir, ops)
}

// applyTree is [ApplyTree] with dir read by homeRel and ops checked.
func applyTree(ctx context.Context, t Transport, host, dir string, ops []TreeOp) error {
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

// cdLine makes dir (and its parents) and changes to it. CDPATH is cleared
// and a relative dir is prefixed with "./", so cd goes where dir says.
func cdLine(dir string) string {
	if dir == "" {
		return ""
	}
	if !path.IsAbs(dir) {
		dir = "./" + dir
	}
	q := Quote(dir)
	return "unset CDPATH\nmkdir -p -- " + q + " && cd -- " + q + " || exit 1\n"
}

// locMarker starts the output of locateScript.
const locMarker = "dproc-locate"

// guardMarker is what locateScript prints when its guard stops it.
const guardMarker = "guard"

// locateScript prints, NUL-terminated: locMarker, the home directory (the
// directory the command starts in) with links resolved, a type letter for
// dir (d directory, f regular file, l a link that leads nowhere, o anything
// else, m missing) and, for a directory, its path with links resolved. It
// is then in dir, when dir is a directory, and has exited otherwise (with
// status notDirStatus when something other than a directory is there).
// CDPATH is cleared and a relative dir is prefixed with "./", so cd goes
// where dir says and prints nothing.
//
// With guard, the script also stops, printing guardMarker, when dir is "/",
// the home directory or a directory above it: a deleting [Sync] is refused
// there (by checkDst, which decides on the location alone), and listing
// such a tree would only waste time.
func locateScript(dir string, notDirStatus int, guard bool) string {
	d := "."
	switch {
	case dir == "":
	case path.IsAbs(dir):
		d = dir
	default:
		d = "./" + dir
	}
	q := Quote(d)
	nd := strconv.Itoa(notDirStatus)
	// $(...) drops every trailing newline: the "." keeps those of the
	// path, and ${X%??} removes it with pwd's own newline.
	script := "unset CDPATH\n" +
		"H=$(pwd -P && echo .) && H=${H%??} || exit 1\n" +
		"printf '" + locMarker + "\\0%s\\0' \"$H\"\n" +
		"if [ -d " + q + " ]; then cd -- " + q + " && D=$(pwd -P && echo .) && D=${D%??} || exit 1; printf 'd\\0%s\\0' \"$D\"\n" +
		"elif [ -f " + q + " ]; then printf 'f\\0\\0'; exit " + nd + "\n" +
		"elif [ -L " + q + " ]; then printf 'l\\0\\0'; exit " + nd + "\n" +
		"elif [ -e " + q + " ]; then printf 'o\\0\\0'; exit " + nd + "\n" +
		"else printf 'm\\0\\0'; exit 0\nfi\n"
	if guard {
		script += "if [ \"$D\" = / ] || [ \"$D\" = \"$H\" ]; then printf '" + guardMarker + "\\0'; exit 0; fi\n" +
			"case $H in \"$D\"/*) printf '" + guardMarker + "\\0'; exit 0;; esac\n"
	}
	return script
}

// notDirStatus is the exit status of the listing script when dir is not a
// directory: the listing fails, as a cd into a file does.
const notDirStatus = 3

// notDirError is the error of a listing (or sync) whose dir is not a
// directory: its text is msg alone, and it matches [ErrNotDir] and the
// failed command's [*ExitError] (the script's text and status say nothing
// more).
type notDirError struct {
	msg   string
	host  string // the host msg names, or ""
	cause error  // the listing's *ExitError, or nil
}

func (e *notDirError) Error() string { return e.msg }

func (e *notDirError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrNotDir}
	}
	return []error{ErrNotDir, e.cause}
}

// parseLocation parses the output of locateScript and returns the rest,
// and whether the guard stopped the script.
func parseLocation(b []byte) (Location, []byte, bool, error) {
	var f [4]string
	for i := range f {
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return Location{}, nil, false, errors.New("locate: truncated output")
		}
		f[i], b = string(b[:j]), b[j+1:]
	}
	if f[0] != locMarker {
		return Location{}, nil, false, fmt.Errorf("locate: unexpected output %q", f[0])
	}
	loc := Location{Home: f[1], Exists: true}
	switch f[2] {
	case "d":
		loc.Type, loc.Dir = fs.ModeDir, f[3]
	case "f":
	case "l":
		loc.Type = fs.ModeSymlink
	case "o":
		loc.Type = fs.ModeIrregular
	case "m":
		loc.Exists = false
	default:
		return Location{}, nil, false, fmt.Errorf("locate: unexpected type %q", f[2])
	}
	if !path.IsAbs(loc.Home) || loc.Type == fs.ModeDir && !path.IsAbs(loc.Dir) {
		return Location{}, nil, false, fmt.Errorf("locate: bad directory %q or %q", loc.Home, loc.Dir)
	}
	guarded := false
	if rest, ok := bytes.CutPrefix(b, []byte(guardMarker+"\x00")); ok {
		b, guarded = rest, true
	}
	return loc, b, guarded, nil
}

// listTreeSh lists dir with one command that also locates it: the entries
// are listed only when dir is a directory (and, with guard, not one where a
// deleting sync is refused; see locateScript). A dir that is not a
// directory is a Location saying what it is and the command's *ExitError.
func listTreeSh(ctx context.Context, t Transport, host, dir string, sums, guard bool) (Location, []Entry, bool, error) {
	script := locateScript(dir, notDirStatus, guard) + listScript
	if sums {
		script += sumScript
	}
	var out bytes.Buffer
	if err := t.Run(ctx, host, &Command{Shell: script, Stdout: &out}); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code == notDirStatus {
			if loc, _, _, perr := parseLocation(out.Bytes()); perr == nil && loc.Exists && !loc.IsDir() {
				return loc, nil, false, err
			}
		}
		return Location{}, nil, false, err
	}
	loc, rest, guarded, err := parseLocation(out.Bytes())
	if err != nil {
		return Location{}, nil, false, &OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	if guarded {
		return loc, nil, true, nil
	}
	entries, err := parseListing(rest)
	if err != nil {
		return Location{}, nil, false, &OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	return loc, entries, false, nil
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
// ops of one kind with the same mode or time share one command. When expect
// is set, the script changes nothing unless dir leads to expect (the
// directory, links resolved, that a listing saw), so ops computed from that
// listing are never applied somewhere else.
func treeScript(dir string, ops []TreeOp, expect string) string {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	token := hex.EncodeToString(rnd[:])
	var b strings.Builder
	b.WriteString("set -e\n")
	if expect != "" {
		d := "."
		switch {
		case dir == "":
		case path.IsAbs(dir):
			d = dir
		default:
			d = "./" + dir
		}
		fmt.Fprintf(&b, "unset CDPATH\ncd -- %s && D=$(pwd -P && echo .) && D=${D%%??} || exit 1\n"+
			"[ \"$D\" = %s ] || { printf '%%s\\n' \"dproc: %%s now leads to $D, not %%s; nothing changed\" %s %s >&2; exit 1; }\n",
			Quote(d), Quote(expect), Quote(dir), Quote(expect))
	} else {
		b.WriteString(cdLine(dir))
	}
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
	return applyTreeShAt(ctx, t, host, dir, ops, "")
}

// applyTreeShAt is applyTreeSh that changes nothing unless dir leads to
// expect (when set); see treeScript.
func applyTreeShAt(ctx context.Context, t Transport, host, dir string, ops []TreeOp, expect string) error {
	// The script goes on standard input: a command line is limited to
	// 128 KiB by Linux, and a script for a large tree is longer.
	return t.Run(ctx, host, &Command{Args: []string{"sh", "-s"}, Stdin: strings.NewReader(treeScript(dir, ops, expect))})
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
