package nodeops

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

	"dproc/transport"
)

// treeOf returns the [transport.Tree] of t, looked for on t and then along
// its Unwrap chain ([transport.Capability]).
func treeOf(t transport.Transport) (transport.Tree, bool) {
	return transport.Capability[transport.Tree](t)
}

// locatorOf returns the [transport.Locator] of t, as treeOf does.
func locatorOf(t transport.Transport) (transport.Locator, bool) {
	return transport.Capability[transport.Locator](t)
}

// locKind names l's type for a message: "a file", "a directory", ...
func locKind(l transport.Location) string {
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

// Locate reports what dir names on host, following symbolic links as the
// host does (so a path that is, or leads through a link to, the home
// directory has Dir equal to Home), with t's [transport.Locator] when it has one and
// otherwise with one sh command ("cd DIR && pwd -P" against the home's
// "pwd -P"). It changes nothing on the host. [Sync] uses it to refuse a
// deleting sync onto the home directory.
func Locate(ctx context.Context, t transport.Transport, host, dir string) (transport.Location, error) {
	if t == nil {
		return transport.Location{}, nilTransport("locate", host)
	}
	dir, err := homeRel(dir)
	if err != nil {
		return transport.Location{}, &transport.OpError{Op: "locate", Host: host, Path: dir, Err: err}
	}
	return locate(ctx, t, host, dir)
}

func locate(ctx context.Context, t transport.Transport, host, dir string) (transport.Location, error) {
	if l, ok := locatorOf(t); ok {
		return l.Locate(ctx, host, dir)
	}
	return shellTree{t}.Locate(ctx, host, dir)
}

// ListTree lists every entry under dir on host, with t's [transport.Tree] when it has
// one and otherwise with one find command (see [transport.Tree.ListTree] for the
// contract). The entries are returned sorted by Path. A dir that exists and
// is not a directory is an error matching [transport.ErrNotDir]. An empty dir, "~" and
// "~/" are the home directory.
func ListTree(ctx context.Context, t transport.Transport, host, dir string, sums bool) ([]transport.Entry, error) {
	if t == nil {
		return nil, nilTransport("listtree", host)
	}
	dir, err := homeRel(dir)
	if err != nil {
		return nil, &transport.OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	if tr, ok := treeOf(t); ok {
		entries, err := tr.ListTree(ctx, host, dir, sums)
		if err != nil {
			return nil, err
		}
		sortEntries(entries)
		return entries, nil
	}
	entries, err := shellTree{t}.ListTree(ctx, host, dir, sums)
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

// ApplyTree applies ops under dir on host in order, with t's [transport.Tree] when it
// has one and otherwise with one generated sh script (see [transport.Tree.ApplyTree]
// for the contract). Ops that are malformed are reported as an error
// matching [transport.ErrInvalid] before anything runs. An empty dir, "~" and "~/" are
// the home directory; the paths of ops are names inside dir, taken as they
// are ("~" there is a file named "~").
func ApplyTree(ctx context.Context, t transport.Transport, host, dir string, ops []transport.TreeOp) error {
	if t == nil {
		return nilTransport("applytree", host)
	}
	dir, err := homeRel(dir)
	if err != nil {
		return &transport.OpError{Op: "applytree", Host: host, Path: dir, Err: err}
	}
	return applyChecked(ctx, t, host, dir, ops)
}

// applyChecked is [ApplyTree] with dir read by homeRel.
func applyChecked(ctx context.Context, t transport.Transport, host, dir string, ops []transport.TreeOp) error {
	if err := checkOps(host, ops); err != nil {
		return err
	}
	return applyTree(ctx, t, host, dir, ops)
}

// checkOps reports the first malformed op, as an error matching
// [transport.ErrInvalid].
func checkOps(host string, ops []transport.TreeOp) error {
	for i, op := range ops {
		if err := checkOp(op); err != nil {
			return &transport.OpError{Op: "applytree", Host: host, Path: op.Path, Err: fmt.Errorf("%w: op %d: %s", transport.ErrInvalid, i, err)}
		}
	}
	return nil
}

// applyTree is [ApplyTree] with dir read by homeRel and ops checked.
func applyTree(ctx context.Context, t transport.Transport, host, dir string, ops []transport.TreeOp) error {
	if tr, ok := treeOf(t); ok {
		return tr.ApplyTree(ctx, host, dir, ops)
	}
	return applyTreeSh(ctx, t, host, dir, ops)
}

// checkOp reports what is wrong with op, or nil.
func checkOp(op transport.TreeOp) error {
	if err := checkRel(op.Path, op.Kind == transport.OpChmod || op.Kind == transport.OpChtimes); err != nil {
		return err
	}
	switch op.Kind {
	case transport.OpMkdir, transport.OpChmod, transport.OpChtimes, transport.OpRemoveAll:
	case transport.OpSymlink:
		if op.Target == "" || strings.IndexByte(op.Target, 0) >= 0 {
			return fmt.Errorf("bad symlink target %q", op.Target)
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

func sortEntries(es []transport.Entry) {
	slices.SortFunc(es, func(a, b transport.Entry) int { return strings.Compare(a.Path, b.Path) })
}

// ----- the sh fallback -----

// ShellTree returns the tree operations of any transport done by running
// POSIX sh on the host with t's Run: one command per call, which needs GNU
// find, coreutils and sha256sum (any Linux host has them). It is what
// [ListTree], [ApplyTree] and [Locate] use when t has no [transport.Tree] or
// [transport.Locator] of its own, and the value it returns implements
// [transport.Locator] too. Use it to run a transport through the shell
// fallback on purpose, as the conformance tests of [transport.Tree] do.
//
// Every path in the generated scripts is quoted with [transport.Quote] and
// prefixed with "./", so a file name holding spaces, quotes, '$', newlines
// or a leading '-' is only ever a file name. Its ApplyTree checks the ops
// (an error matching [transport.ErrInvalid] before anything runs), as
// [ApplyTree] does. Its errors are those of t.Run, and [transport.ErrNotDir] as the
// [transport.Tree] contract says. With a nil t, every method returns an
// error matching [transport.ErrInvalid].
func ShellTree(t transport.Transport) transport.Tree { return shellTree{t} }

type shellTree struct{ t transport.Transport }

var _ transport.Locator = shellTree{}

// ListTree implements [transport.Tree] with one find command.
func (s shellTree) ListTree(ctx context.Context, host, dir string, sums bool) ([]transport.Entry, error) {
	if s.t == nil {
		return nil, nilTransport("listtree", host)
	}
	loc, entries, _, err := listTreeSh(ctx, s.t, host, dir, sums, false)
	if loc.Exists && !loc.IsDir() {
		return nil, &transport.OpError{Op: "listtree", Host: host, Path: dir, Err: &notDirError{msg: "not a directory: it is " + locKind(loc), cause: err}}
	}
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// ApplyTree implements [transport.Tree] with one generated sh script, read
// by "sh -s" from its standard input.
func (s shellTree) ApplyTree(ctx context.Context, host, dir string, ops []transport.TreeOp) error {
	if s.t == nil {
		return nilTransport("applytree", host)
	}
	if err := checkOps(host, ops); err != nil {
		return err
	}
	return applyTreeSh(ctx, s.t, host, dir, ops)
}

// Locate implements [transport.Locator] with one sh command ("cd DIR &&
// pwd -P" against the home's "pwd -P").
func (s shellTree) Locate(ctx context.Context, host, dir string) (transport.Location, error) {
	if s.t == nil {
		return transport.Location{}, nilTransport("locate", host)
	}
	var out bytes.Buffer
	if err := s.t.Run(ctx, host, &transport.Command{Shell: locateScript(dir, 0, false), Stdout: &out}); err != nil {
		return transport.Location{}, err
	}
	loc, rest, _, err := parseLocation(out.Bytes())
	if err == nil && len(rest) > 0 {
		err = errors.New("locate: unexpected output")
	}
	if err != nil {
		return transport.Location{}, &transport.OpError{Op: "locate", Host: host, Path: dir, Err: err}
	}
	return loc, nil
}

// listScript lists the current directory (after the cd put before it): one
// record per entry of three NUL-terminated fields "TYPE PERM SIZE MTIME",
// path and link target; then, when sums are asked for, the word SUMS and
// sha256sum -z lines "HEX  ./path".
const listScript = `find . -mindepth 1 -printf '%y %m %s %T@\0%P\0%l\0' || exit 1
`
const sumScript = `printf 'SUMS\0' && find . -mindepth 1 -type f -exec sha256sum -z -- {} + || exit 1
`

// cdArg returns dir as the argument of a cd that goes where dir says, with
// CDPATH cleared: "." for "" (the home directory, where a command starts),
// an absolute dir as it is, and a relative one prefixed with "./", so that
// cd never reads it as an option or looks it up in CDPATH.
func cdArg(dir string) string {
	switch {
	case dir == "":
		return "."
	case path.IsAbs(dir):
		return dir
	default:
		return "./" + dir
	}
}

// cdLine makes dir (and its parents) and changes to it. CDPATH is cleared
// and a relative dir is prefixed with "./", so cd goes where dir says.
func cdLine(dir string) string {
	if dir == "" {
		return ""
	}
	q := transport.Quote(cdArg(dir))
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
	q := transport.Quote(cdArg(dir))
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

// parseLocation parses the output of locateScript and returns the rest,
// and whether the guard stopped the script.
func parseLocation(b []byte) (transport.Location, []byte, bool, error) {
	var f [4]string
	for i := range f {
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return transport.Location{}, nil, false, errors.New("locate: truncated output")
		}
		f[i], b = string(b[:j]), b[j+1:]
	}
	if f[0] != locMarker {
		return transport.Location{}, nil, false, fmt.Errorf("locate: unexpected output %q", f[0])
	}
	loc := transport.Location{Home: f[1], Exists: true}
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
		return transport.Location{}, nil, false, fmt.Errorf("locate: unexpected type %q", f[2])
	}
	if !path.IsAbs(loc.Home) || loc.Type == fs.ModeDir && !path.IsAbs(loc.Dir) {
		return transport.Location{}, nil, false, fmt.Errorf("locate: bad directory %q or %q", loc.Home, loc.Dir)
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
// directory is a transport.Location saying what it is and the command's *ExitError.
func listTreeSh(ctx context.Context, t transport.Transport, host, dir string, sums, guard bool) (transport.Location, []transport.Entry, bool, error) {
	script := locateScript(dir, notDirStatus, guard) + listScript
	if sums {
		script += sumScript
	}
	var out bytes.Buffer
	if err := t.Run(ctx, host, &transport.Command{Shell: script, Stdout: &out}); err != nil {
		var ee *transport.ExitError
		if errors.As(err, &ee) && ee.Code == notDirStatus {
			if loc, _, _, perr := parseLocation(out.Bytes()); perr == nil && loc.Exists && !loc.IsDir() {
				return loc, nil, false, err
			}
		}
		return transport.Location{}, nil, false, err
	}
	loc, rest, guarded, err := parseLocation(out.Bytes())
	if err != nil {
		return transport.Location{}, nil, false, &transport.OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	if guarded {
		return loc, nil, true, nil
	}
	entries, err := parseListing(rest)
	if err != nil {
		return transport.Location{}, nil, false, &transport.OpError{Op: "listtree", Host: host, Path: dir, Err: err}
	}
	return loc, entries, false, nil
}

// parseListing parses the output of listScript and sumScript.
func parseListing(b []byte) ([]transport.Entry, error) {
	fields := bytes.Split(b, []byte{0})
	if len(fields) > 0 && len(fields[len(fields)-1]) == 0 {
		fields = fields[:len(fields)-1]
	}
	var entries []transport.Entry
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

func parseRecord(meta, p, target string) (transport.Entry, error) {
	f := strings.Fields(meta)
	if len(f) != 4 || len(f[0]) != 1 {
		return transport.Entry{}, fmt.Errorf("listing: bad record %q", meta)
	}
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	mtime, err3 := parseEpoch(f[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return transport.Entry{}, fmt.Errorf("listing: bad record %q", meta)
	}
	e := transport.Entry{Path: p, Mode: fromUnixMode(uint32(perm)), Size: size, ModTime: mtime}
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
		return transport.Entry{}, fmt.Errorf("listing: %s", err)
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
func sameGroup(a, b transport.TreeOp) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case transport.OpMkdir, transport.OpChmod:
		return unixMode(a.Mode) == unixMode(b.Mode)
	case transport.OpChtimes:
		return a.ModTime.Equal(b.ModTime)
	case transport.OpRemoveAll:
		return true
	}
	return false
}

// treeScript returns the sh script that applies ops under dir. Consecutive
// ops of one kind with the same mode or time share one command. When expect
// is set, the script changes nothing unless dir leads to expect (the
// directory, links resolved, that a listing saw), so ops computed from that
// listing are never applied somewhere else.
func treeScript(dir string, ops []transport.TreeOp, expect string) string {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	token := hex.EncodeToString(rnd[:])
	var b strings.Builder
	b.WriteString("set -e\n")
	if expect != "" {
		fmt.Fprintf(&b, "unset CDPATH\ncd -- %s && D=$(pwd -P && echo .) && D=${D%%??} || exit 1\n"+
			"[ \"$D\" = %s ] || { printf '%%s\\n' \"dproc: %%s now leads to $D, not %%s; nothing changed\" %s %s >&2; exit 1; }\n",
			transport.Quote(cdArg(dir)), transport.Quote(expect), transport.Quote(dir), transport.Quote(expect))
	} else {
		b.WriteString(cdLine(dir))
	}
	for i := 0; i < len(ops); {
		op := ops[i]
		ps := []string{transport.Quote("./" + op.Path)}
		size := len(ps[0])
		j := i + 1
		for ; j < len(ops) && size < maxGroup && sameGroup(op, ops[j]); j++ {
			q := transport.Quote("./" + ops[j].Path)
			ps = append(ps, q)
			size += len(q) + 1
		}
		p, all := ps[0], strings.Join(ps, " ")
		tmp := transport.Quote("./" + path.Join(path.Dir(op.Path), ".dproc-"+token+"-"+strconv.Itoa(i)))
		switch op.Kind {
		case transport.OpMkdir:
			// One mkdir for all: it makes its arguments in order,
			// parents first; -p because another host may make the
			// same directory at once (a home shared over NFS).
			fmt.Fprintf(&b, "set --; for d in %[1]s; do if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then [ ! -e \"$d\" ] && [ ! -L \"$d\" ] || rm -rf -- \"$d\"; set -- \"$@\" \"$d\"; fi; done; [ $# -eq 0 ] || mkdir -p -- \"$@\"; chmod 0%04[2]o -- %[1]s\n", all, unixMode(op.Mode))
		case transport.OpChmod:
			// find skips symbolic links, which chmod would follow.
			fmt.Fprintf(&b, "find %s -prune ! -type l -exec chmod 0%04o {} +\n", all, unixMode(op.Mode))
		case transport.OpChtimes:
			fmt.Fprintf(&b, "touch -h -c -d %s -- %s\n", touchTime(op.ModTime), all)
		case transport.OpRemoveAll:
			fmt.Fprintf(&b, "rm -rf -- %s\n", all)
		case transport.OpSymlink:
			fmt.Fprintf(&b, "if [ -d %[1]s ] && [ ! -L %[1]s ]; then rm -rf -- %[1]s; fi; rm -f -- %[2]s; ln -s -- %[3]s %[2]s; mv -Tf -- %[2]s %[1]s\n", p, tmp, transport.Quote(op.Target))
		}
		i = j
	}
	return b.String()
}

func applyTreeSh(ctx context.Context, t transport.Transport, host, dir string, ops []transport.TreeOp) error {
	return applyTreeShAt(ctx, t, host, dir, ops, "")
}

// applyTreeShAt is applyTreeSh that changes nothing unless dir leads to
// expect (when set); see treeScript.
func applyTreeShAt(ctx context.Context, t transport.Transport, host, dir string, ops []transport.TreeOp, expect string) error {
	// The script goes on standard input: a command line is limited to
	// 128 KiB by Linux, and a script for a large tree is longer.
	return t.Run(ctx, host, &transport.Command{Args: []string{"sh", "-s"}, Stdin: strings.NewReader(treeScript(dir, ops, expect))})
}
