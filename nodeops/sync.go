package nodeops

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"dproc/internal/iox"
	"dproc/transport"
)

// DefaultStampName is the name of the stamp file [Sync] writes in the
// destination directory.
const DefaultStampName = ".dproc-sync"

// SyncOptions configures [Sync] and [SyncAll]. A nil *SyncOptions means all
// defaults.
type SyncOptions struct {
	// Delete removes entries under dst that src does not have. Default:
	// false (they are kept). A deleting sync onto the home directory, onto
	// "/" or onto a directory that holds the home directory is refused
	// unless AllowDangerousDelete is set (see [ErrDangerousDelete]).
	Delete bool

	// AllowDangerousDelete lets a deleting sync mirror onto the home
	// directory itself, "/", or a directory above the home directory,
	// removing whatever src does not have there (the ~/.ssh directory
	// included, which can lock the user out of the host). Default: false,
	// and such a sync fails with [ErrDangerousDelete] before anything on
	// the host changes. It has no effect without Delete.
	AllowDangerousDelete bool

	// Checksum compares regular files by size and SHA-256 instead of size
	// and modification time. Default: false.
	Checksum bool

	// StampName is the file name of the stamp in dst, never deleted and
	// left out of the digest; a top-level entry of src with that name is
	// not synced (it is listed in SyncResult.Skipped). It must be a plain
	// file name. Default: [DefaultStampName].
	StampName string

	// Parallel is how many hosts [SyncAll] syncs at once. Default: 8.
	Parallel int

	// FileParallel is how many Puts run at once on one host. Default: 4.
	FileParallel int
}

// SyncResult says what [Sync] did on one host. When Sync fails, it says
// what was done before the failure.
type SyncResult struct {
	Host         string
	FilesSent    int      // regular files written with Put
	BytesSent    int64    // bytes of those files
	FilesDeleted int      // entries removed from dst, those under a removed directory included
	DirsCreated  int      // directories made (or replacing a non-directory)
	LinksMade    int      // symbolic links made or changed
	Updated      int      // entries whose content was right but whose mode or time was fixed
	Unchanged    int      // regular files already up to date
	Skipped      []string // entries of src not synced: special files and the stamp's name
	Digest       string   // TreeDigest of src, as written in the stamp
}

// Sync makes the directory dst on host a copy of the local directory src,
// like "rsync -a src/ host:dst/", and says what it did. An empty dst, "~"
// and "~/" are the host's home directory and "~/x" is its entry x, as scp
// and rsync read them; a relative dst is resolved against the home
// directory; dst itself is created if missing (its parents too), and its
// own mode and time are left alone. A dst that exists on the host and is
// not a directory (nor a link to one) is an error matching
// [transport.ErrNotDir] ("destination "x" on host "h" is a file, not a
// directory"), and nothing there is changed. The error of a failed sync
// names the host once ("sync: ..."); one about src or the options names no
// host, and nothing was sent. To sync to many hosts, use [SyncAll], which
// reads src once.
//
// With [SyncOptions.Delete], where dst leads on the host is checked before
// anything there changes, and a dst that is the home directory, "/" or a
// directory above the home directory fails with
// [ErrDangerousDelete] unless [SyncOptions.AllowDangerousDelete] is set.
// Spellings that always mean the home directory or "/" ("", ".", "~", "/",
// ...) are refused without contacting the host; any other dst is resolved on
// the host, symbolic links included ("cd dst && pwd -P" against the home's
// "pwd -P", or the transport's [transport.Locator]), in the same command that lists it
// when the transport has no [transport.Tree] of its own (with one, a deleting sync
// costs one [Locate] call more).
//
// Without a [transport.Tree] of the transport's own, every change after the listing is
// made in the directory the listing saw (dst with its links resolved), and
// the commands that remove or change entries first check that it is still
// there; a dst whose links are changed during the sync cannot turn its
// deletions onto another directory.
//
// src is walked once, without following symbolic links (src itself may be
// one). Regular files are sent when missing on the host, of a different
// size, or of a different modification time in whole seconds (of a
// different SHA-256 with [SyncOptions.Checksum]); their mode and
// modification time are then set as in src. Directories are created with
// their modes and times; symbolic links are made with the same target,
// whatever it points to. Sockets, devices and named pipes are skipped and
// reported. Anything on the host that stands where src has an entry of
// another type is removed first; in particular a symbolic link on the host
// where src has a directory is replaced by a directory before anything is
// written, so no write goes through a link out of dst. Entries of dst that
// src does not have are removed only with [SyncOptions.Delete].
//
// Last, the stamp file in dst (see [SyncOptions.StampName]) is written
// atomically with Put: the time of the sync and the digest of src
// ([TreeDigest]), to be read with [ParseStamp]; the file's modification time
// is the host's clock (see the package doc on the stamp).
func Sync(ctx context.Context, t transport.Transport, host, src, dst string, opts *SyncOptions) (SyncResult, error) {
	if t == nil {
		return SyncResult{Host: host}, nilTransport("sync", host)
	}
	j, err := newSyncJob(src, dst, opts)
	if err != nil {
		return SyncResult{Host: host}, err
	}
	return j.sync(ctx, t, host)
}

// SyncAll is [Sync] on every host of hosts, [SyncOptions.Parallel] at a
// time, with src walked (and its files hashed) once for all of them; it
// returns one [Result] per host, in the order of hosts (see [Each]). A host
// that fails is a result with Err set; the others go on. An src or an
// option that is not valid is every host's Err.
func SyncAll(ctx context.Context, t transport.Transport, hosts []string, src, dst string, opts *SyncOptions) []Result[SyncResult] {
	if len(hosts) == 0 {
		return []Result[SyncResult]{}
	}
	j, err := newSyncJob(src, dst, opts)
	if err != nil || t == nil {
		res := make([]Result[SyncResult], len(hosts))
		for i, h := range hosts {
			res[i] = Result[SyncResult]{Host: h, Value: SyncResult{Host: h}, Err: err}
			if t == nil {
				res[i].Err = nilTransport("sync", h)
			}
		}
		return res
	}
	res := Each(ctx, hosts, j.o.Parallel, func(ctx context.Context, host string) (SyncResult, error) {
		return j.sync(ctx, t, host)
	})
	for i := range res {
		res[i].Value.Host = res[i].Host
	}
	return res
}

// syncJob is a sync of one walked src to one dst, on any number of hosts.
type syncJob struct {
	o     SyncOptions
	lt    *localTree
	dst   string // read by homeRel
	shown string // as the caller gave it
}

func newSyncJob(src, dst string, opts *SyncOptions) (*syncJob, error) {
	j := &syncJob{shown: dst}
	if opts != nil {
		j.o = *opts
	}
	o := &j.o
	if o.StampName == "" {
		o.StampName = DefaultStampName
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.FileParallel <= 0 {
		o.FileParallel = 4
	}
	err := checkRel(o.StampName, false)
	if err == nil && strings.Contains(o.StampName, "/") {
		err = fmt.Errorf("stamp name %q is not a plain file name", o.StampName)
	}
	if err != nil {
		return nil, fmt.Errorf("sync: %w: %s", transport.ErrInvalid, err)
	}
	if j.lt, err = walkLocal(src, o.StampName); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if j.dst, err = homeRel(dst); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	return j, nil
}

// sync syncs j on host.
func (j *syncJob) sync(ctx context.Context, t transport.Transport, host string) (SyncResult, error) {
	r := SyncResult{Host: host, Skipped: slices.Clone(j.lt.skipped), Digest: j.lt.digest}
	err := spelledDanger(host, j.shown, j.dst, &j.o)
	if err == nil {
		err = syncHost(ctx, t, &r, j.dst, j.shown, j.lt, &j.o)
	}
	if err != nil {
		return r, withHost("sync", host, err)
	}
	return r, nil
}

// spelledDanger refuses a deleting sync whose dst (shown as the caller gave
// it) names the home directory or "/" whatever the host says.
func spelledDanger(host, shown, dst string, o *SyncOptions) error {
	if !o.Delete || o.AllowDangerousDelete {
		return nil
	}
	var what string
	switch c := path.Clean(dst); {
	case shown == "":
		what = "empty, which names the home directory"
	case dst == "" || c == ".":
		what = "the home directory"
	case c == "/":
		what = "the root directory"
	default:
		return nil
	}
	return dangerError(host, shown, what)
}

func dangerError(host, shown, what string) error {
	return &hostNamed{
		host: host,
		msg:  fmt.Sprintf("destination %q on host %q is %s: %v", shown, host, what, ErrDangerousDelete),
		err:  ErrDangerousDelete,
	}
}

// checkDst refuses a dst that loc says is not a directory, and a deleting
// sync onto the home directory, "/" or a directory above the home.
func checkDst(host, shown string, loc transport.Location, o *SyncOptions) error {
	if loc.Exists && !loc.IsDir() {
		return destNotDir(host, shown, locKind(loc), nil)
	}
	if !loc.IsDir() || !o.Delete || o.AllowDangerousDelete {
		return nil
	}
	switch {
	case loc.Dir == "/":
		return dangerError(host, shown, "the root directory")
	case loc.Dir == loc.Home && path.Clean(shown) == loc.Home:
		return dangerError(host, shown, "the home directory")
	case loc.Dir == loc.Home:
		return dangerError(host, shown, fmt.Sprintf("the home directory (%s)", loc.Home))
	case strings.HasPrefix(loc.Home, strings.TrimSuffix(loc.Dir, "/")+"/"):
		return dangerError(host, shown, fmt.Sprintf("%s, which holds the home directory %s", loc.Dir, loc.Home))
	}
	return nil
}

// destNotDir is the error of a dst that is not a directory; cause is the
// failed listing's error, when there is one.
func destNotDir(host, shown, kind string, cause error) error {
	return &notDirError{
		host:  host,
		msg:   fmt.Sprintf("destination %q on host %q is %s, not a directory", shown, host, kind),
		cause: cause,
	}
}

// listDst lists dst on host for a sync and checks it with checkDst first.
// Without a native [transport.Tree], it also returns where dst led (links resolved)
// when it was listed, for applyAt.
func listDst(ctx context.Context, t transport.Transport, host, dst, shown string, o *SyncOptions) ([]transport.Entry, string, error) {
	tr, native := treeOf(t)
	if !native {
		loc, listing, guarded, err := listTreeSh(ctx, t, host, dst, o.Checksum, o.Delete && !o.AllowDangerousDelete)
		if loc.Exists && !loc.IsDir() {
			return nil, "", destNotDir(host, shown, locKind(loc), err)
		}
		if err != nil {
			return nil, "", err
		}
		if err := checkDst(host, shown, loc, o); err != nil {
			return nil, "", err
		}
		if guarded {
			// The host's shell and checkDst disagree: never sync on
			// a listing that was not made.
			return nil, "", fmt.Errorf("%w: destination %q on host %q: the listing stopped at %s", ErrDangerousDelete, shown, host, loc.Dir)
		}
		sortEntries(listing)
		return listing, loc.Dir, nil
	}
	if o.Delete && !o.AllowDangerousDelete {
		loc, err := locate(ctx, t, host, dst)
		if err != nil {
			return nil, "", err
		}
		if err := checkDst(host, shown, loc, o); err != nil {
			return nil, "", err
		}
	}
	listing, err := tr.ListTree(ctx, host, dst, o.Checksum)
	if errors.Is(err, transport.ErrNotDir) {
		kind := "something else"
		if loc, lerr := locate(ctx, t, host, dst); lerr == nil && loc.Exists {
			kind = locKind(loc)
		}
		return nil, "", destNotDir(host, shown, kind, err)
	}
	if err != nil {
		return nil, "", err
	}
	sortEntries(listing)
	return listing, "", nil
}

// localTree is the walked source directory.
type localTree struct {
	root    string            // src, symbolic links resolved
	entries []transport.Entry // sorted by Path, Sum set for regular files
	byPath  map[string]int
	skipped []string
	digest  string
}

func walkLocal(src, stampName string) (*localTree, error) {
	root, err := filepath.EvalSymlinks(src)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: source %s is not a directory", transport.ErrInvalid, src)
	}
	lt := &localTree{root: root, byPath: make(map[string]int)}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := transport.Entry{Path: rel, Mode: info.Mode() &^ fs.ModeType, ModTime: info.ModTime()}
		switch {
		case rel == stampName:
			lt.skipped = append(lt.skipped, rel)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case info.Mode().IsRegular():
			e.Size = info.Size()
			if e.Sum, err = fileSum(p); err != nil {
				return err
			}
		case info.IsDir():
			e.Mode |= fs.ModeDir
		case info.Mode()&fs.ModeSymlink != 0:
			e.Mode |= fs.ModeSymlink
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
			if e.Target == "" {
				lt.skipped = append(lt.skipped, rel)
				return nil
			}
		default:
			lt.skipped = append(lt.skipped, rel)
			return nil
		}
		lt.entries = append(lt.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortEntries(lt.entries)
	for i, e := range lt.entries {
		lt.byPath[e.Path] = i
	}
	lt.digest = TreeDigest(lt.entries)
	return lt, nil
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TreeDigest returns the lowercase hex SHA-256 of a canonical manifest of
// entries: for each regular file, directory and symbolic link, sorted by
// Path, its type, permissions (setuid, setgid and sticky included), size and
// Sum (regular files), target (links) and path. Other entries and
// modification times do not count. Regular files need Sum set (see
// [ListTree] with sums) for the digest to mean anything.
func TreeDigest(entries []transport.Entry) string {
	sorted := slices.Clone(entries)
	sortEntries(sorted)
	h := sha256.New()
	for _, e := range sorted {
		var typ byte
		var size int64
		var sum, target string
		switch {
		case e.Mode.IsRegular():
			typ, size, sum = 'f', e.Size, e.Sum
		case e.Mode.IsDir():
			typ = 'd'
		case e.Mode&fs.ModeSymlink != 0:
			typ, target = 'l', e.Target
		default:
			continue
		}
		fmt.Fprintf(h, "%c\x00%04o\x00%d\x00%s\x00%s\x00%s\x00", typ, unixMode(e.Mode), size, sum, target, e.Path)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// parentDir returns the directory holding p ("." at the top).
func parentDir(p string) string { return path.Dir(p) }

// under reports whether p is below one of the paths in set.
func under(p string, set map[string]bool) bool {
	for d := parentDir(p); d != "."; d = parentDir(d) {
		if set[d] {
			return true
		}
	}
	return false
}

func sameMode(a, b fs.FileMode) bool { return unixMode(a) == unixMode(b) }

func sameSecond(a, b transport.Entry) bool { return a.ModTime.Unix() == b.ModTime.Unix() }

// syncHost syncs lt to dst on r.Host and fills in r.
func syncHost(ctx context.Context, t transport.Transport, r *SyncResult, dst, shown string, lt *localTree, o *SyncOptions) error {
	listing, at, err := listDst(ctx, t, r.Host, dst, shown, o)
	if err != nil {
		return err
	}
	if at != "" {
		// Every change goes where the listing was made, even if a link
		// in dst is changed meanwhile.
		dst = at
	}
	remote := make(map[string]transport.Entry, len(listing))
	for _, e := range listing {
		if e.Path != o.StampName {
			remote[e.Path] = e
		}
	}

	var (
		gone    = make(map[string]bool) // remote paths removed because of a type change
		dirty   = make(map[string]bool) // directories whose entries change
		created = make(map[string]bool) // directories made
		pre     []transport.TreeOp      // before the Puts
		dels    []transport.TreeOp
		links   []transport.TreeOp
		modes   []transport.TreeOp // of files
		times   []transport.TreeOp // of files, links and directories
		puts    []transport.Entry
		updated = make(map[string]bool)
	)
	for _, l := range lt.entries {
		rem, ok := remote[l.Path]
		if ok && under(l.Path, gone) {
			ok = false
		}
		if ok && rem.Mode.IsDir() && !l.Mode.IsDir() {
			// A directory where src has something else: remove it
			// (a link replaces it by itself).
			gone[l.Path] = true
			r.FilesDeleted += 1 + countUnder(listing, l.Path)
			if l.Mode.IsRegular() {
				pre = append(pre, transport.TreeOp{Kind: transport.OpRemoveAll, Path: l.Path})
			}
			ok = false
		}
		switch {
		case l.Mode.IsDir():
			if !ok || !rem.Mode.IsDir() {
				pre = append(pre, transport.TreeOp{Kind: transport.OpMkdir, Path: l.Path, Mode: l.Mode | 0o700})
				created[l.Path] = true
				dirty[parentDir(l.Path)] = true
				r.DirsCreated++
				if ok {
					gone[l.Path] = true // nothing was listed under a non-directory
				}
			} else if !sameMode(l.Mode, rem.Mode) || !sameSecond(l, rem) {
				updated[l.Path] = true
			}
		case l.Mode&fs.ModeSymlink != 0:
			if ok && rem.Mode&fs.ModeSymlink != 0 && rem.Target == l.Target {
				if !sameSecond(l, rem) {
					times = append(times, transport.TreeOp{Kind: transport.OpChtimes, Path: l.Path, ModTime: l.ModTime})
					r.Updated++
				}
				continue
			}
			links = append(links, transport.TreeOp{Kind: transport.OpSymlink, Path: l.Path, Target: l.Target})
			times = append(times, transport.TreeOp{Kind: transport.OpChtimes, Path: l.Path, ModTime: l.ModTime})
			dirty[parentDir(l.Path)] = true
			r.LinksMade++
		default: // regular file
			send := !ok || !rem.Mode.IsRegular() || rem.Size != l.Size
			if !send && o.Checksum {
				send = rem.Sum != l.Sum
			} else if !send {
				send = !sameSecond(l, rem)
			}
			if send {
				puts = append(puts, l)
				dirty[parentDir(l.Path)] = true
				times = append(times, transport.TreeOp{Kind: transport.OpChtimes, Path: l.Path, ModTime: l.ModTime})
				if unixMode(l.Mode) != uint32(l.Mode.Perm()) || l.Mode.Perm() == 0 {
					modes = append(modes, transport.TreeOp{Kind: transport.OpChmod, Path: l.Path, Mode: l.Mode})
				}
				continue
			}
			fixed := false
			if !sameMode(l.Mode, rem.Mode) {
				modes = append(modes, transport.TreeOp{Kind: transport.OpChmod, Path: l.Path, Mode: l.Mode})
				fixed = true
			}
			if !sameSecond(l, rem) {
				times = append(times, transport.TreeOp{Kind: transport.OpChtimes, Path: l.Path, ModTime: l.ModTime})
				fixed = true
			}
			if fixed {
				r.Updated++
			} else {
				r.Unchanged++
			}
		}
	}
	if o.Delete {
		extra := make(map[string]bool)
		for _, rem := range listing {
			if rem.Path == o.StampName || gone[rem.Path] || under(rem.Path, gone) {
				continue
			}
			if _, ok := lt.byPath[rem.Path]; ok {
				continue
			}
			extra[rem.Path] = true
			r.FilesDeleted++
			if !under(rem.Path, extra) {
				dels = append(dels, transport.TreeOp{Kind: transport.OpRemoveAll, Path: rem.Path})
				dirty[parentDir(rem.Path)] = true
			}
		}
	}
	// Directories: a directory on the host that will be written into but
	// lacks owner write and search permission gets them for the time of
	// the sync; every directory then gets src's mode and time, deepest
	// first, after everything inside it has changed.
	var dirModes, unlock []transport.TreeOp
	for i := len(lt.entries) - 1; i >= 0; i-- {
		l := lt.entries[i]
		if !l.Mode.IsDir() {
			continue
		}
		rem := remote[l.Path]
		fixMode := created[l.Path] || updated[l.Path] && !sameMode(l.Mode, rem.Mode)
		if !created[l.Path] && dirty[l.Path] && rem.Mode&0o300 != 0o300 {
			unlock = append(unlock, transport.TreeOp{Kind: transport.OpChmod, Path: l.Path, Mode: rem.Mode | 0o700})
			fixMode = true
		}
		if fixMode {
			dirModes = append(dirModes, transport.TreeOp{Kind: transport.OpChmod, Path: l.Path, Mode: l.Mode})
		}
		if created[l.Path] || dirty[l.Path] || updated[l.Path] && !sameSecond(l, rem) {
			times = append(times, transport.TreeOp{Kind: transport.OpChtimes, Path: l.Path, ModTime: l.ModTime})
		}
	}
	r.Updated += len(updated)
	slices.Reverse(unlock) // parents first
	pre = append(unlock, pre...)

	if len(pre) > 0 {
		if err := applyAt(ctx, t, r.Host, dst, pre, at); err != nil {
			return err
		}
	}
	if err := putFiles(ctx, t, r, lt.root, dst, puts, o.FileParallel); err != nil {
		return err
	}
	// Ops with the same mode or time side by side share a command; times
	// are set before directory modes, which may take away search
	// permission, and those deepest first.
	slices.SortStableFunc(modes, func(a, b transport.TreeOp) int { return cmp.Compare(unixMode(a.Mode), unixMode(b.Mode)) })
	slices.SortStableFunc(times, func(a, b transport.TreeOp) int { return a.ModTime.Compare(b.ModTime) })
	post := slices.Concat(dels, links, modes, times, dirModes)
	if len(post) > 0 {
		if err := applyAt(ctx, t, r.Host, dst, post, at); err != nil {
			return err
		}
	}
	return writeStamp(ctx, t, r.Host, joinPath(dst, o.StampName), lt.digest)
}

// applyAt applies ops under dst, with the sh fallback only where dst still
// leads to at when at is set (see treeScript).
func applyAt(ctx context.Context, t transport.Transport, host, dst string, ops []transport.TreeOp, at string) error {
	if _, native := treeOf(t); native || at == "" {
		return applyChecked(ctx, t, host, dst, ops)
	}
	if err := checkOps(host, ops); err != nil {
		return err
	}
	return applyTreeShAt(ctx, t, host, dst, ops, at)
}

// countUnder returns how many entries of listing are below dir.
func countUnder(listing []transport.Entry, dir string) int {
	n := 0
	for _, e := range listing {
		if strings.HasPrefix(e.Path, dir+"/") {
			n++
		}
	}
	return n
}

// putFiles sends files from root to dst on r.Host, limit at a time; the
// first error stops the others.
func putFiles(ctx context.Context, t transport.Transport, r *SyncResult, root, dst string, files []transport.Entry, limit int) error {
	if len(files) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	byPath := make(map[string]transport.Entry, len(files))
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
		byPath[f.Path] = f
	}
	res := Each(ctx, paths, limit, func(ctx context.Context, p string) (int64, error) {
		n, err := putFile(ctx, t, r.Host, filepath.Join(root, filepath.FromSlash(p)), joinPath(dst, p), byPath[p].Mode)
		if err != nil {
			cancel(err)
		}
		return n, err
	})
	for _, x := range res {
		if x.Err == nil {
			r.FilesSent++
			r.BytesSent += x.Value
		}
	}
	// The first Put that failed, or the caller's ctx that ended.
	return context.Cause(ctx)
}

func putFile(ctx context.Context, t transport.Transport, host, local, remote string, mode fs.FileMode) (int64, error) {
	f, err := os.Open(local)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := iox.NewCountingReader(f)
	if err := t.Put(ctx, host, remote, cr, mode.Perm()); err != nil {
		return 0, err
	}
	return cr.N(), nil
}
