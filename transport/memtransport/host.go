package memtransport

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"dproc/transport"
)

var (
	errIsDir    = errors.New("is a directory")
	errNotDir   = errors.New("not a directory")
	errNotEmpty = errors.New("directory not empty")
	errLoop     = errors.New("too many levels of symbolic links")
)

// Host is the control handle of one host of a [Transport]: its files, its
// per-host commands, its fault controls and its counters. Every method is
// safe for concurrent use, also while calls run on the host.
type Host struct {
	name string
	home string

	mu       sync.Mutex
	files    map[string]*file // by clean absolute path
	dirs     map[string]bool  // clean absolute paths of directories
	dirMeta  map[string]dirMeta
	handlers map[string]Func

	failN    int
	failErr  error
	down     bool
	hangCh   chan struct{} // non-nil while hung; closed when thawed
	lat      time.Duration
	bw       int64
	life     *life
	dieAfter int64 // stdin bytes left before the host dies; <0: off
	cutAfter int64 // stdout bytes the next Run may write; <0: off
	running  int
	changed  chan struct{} // closed and replaced when running changes

	// statsMu guards stats alone, so that a call can be counted while
	// mu is held (taken after mu, never before it).
	statsMu sync.Mutex
	stats   Stats
}

// life is one incarnation of a host: dead is closed when the host dies.
type life struct {
	dead chan struct{}
}

func (l *life) isDead() bool {
	select {
	case <-l.dead:
		return true
	default:
		return false
	}
}

type file struct {
	data   []byte // never modified once stored: readers use it without locks
	mode   fs.FileMode
	mtime  time.Time
	target string // for a symbolic link (mode has fs.ModeSymlink): what it points to
}

// dirMeta holds a directory's permissions and modification time; a
// directory without an entry has mode 0755 and a zero time.
type dirMeta struct {
	mode  fs.FileMode
	mtime time.Time
}

func newHost(name string) *Host {
	h := &Host{
		name:     name,
		home:     path.Join("/home", name),
		files:    make(map[string]*file),
		dirs:     make(map[string]bool),
		dirMeta:  make(map[string]dirMeta),
		handlers: make(map[string]Func),
		life:     &life{dead: make(chan struct{})},
		dieAfter: -1,
		cutAfter: -1,
		changed:  make(chan struct{}),
	}
	h.mkdirAllLocked(h.home)
	return h
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Home returns the host's home directory, "/home/<name>", against which
// relative paths and an empty Command.Dir are resolved.
func (h *Host) Home() string { return h.home }

// Handle registers fn as the command name on this host only, overriding a
// command of the same name registered with [Transport.Handle] and any
// builtin. Matching is as for [Transport.Handle]. Handle panics if name is
// empty or fn is nil.
func (h *Host) Handle(name string, fn Func) {
	checkHandle(name, fn)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers[name] = fn
}

// resolve returns p as a clean absolute path, resolving a relative p against
// dir, or against the home directory when dir is empty.
func (h *Host) resolve(dir, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	if dir == "" {
		dir = h.home
	}
	return path.Join(dir, p)
}

// ---- files ----

// WriteFile stores data at name, replacing any file there, with permission
// bits mode (0 means 0644). Missing parent directories are created. A
// relative name is resolved against the home directory. WriteFile is not a
// call on the host: faults do not apply and counters do not change.
func (h *Host) WriteFile(name string, data []byte, mode fs.FileMode) error {
	p := h.resolve("", name)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.storeLocked(p, slices.Clone(data), mode)
}

// storeLocked puts data at the clean absolute path p.
func (h *Host) storeLocked(p string, data []byte, mode fs.FileMode) error {
	if h.dirs[p] {
		return &fs.PathError{Op: "write", Path: p, Err: errIsDir}
	}
	if err := h.mkdirAllLocked(path.Dir(p)); err != nil {
		return &fs.PathError{Op: "write", Path: p, Err: errNotDir}
	}
	mode = mode.Perm()
	if mode == 0 {
		mode = 0o644
	}
	if data == nil {
		data = []byte{}
	}
	h.files[p] = &file{data: data, mode: mode, mtime: time.Now()}
	return nil
}

// ReadFile returns a copy of the content of the file at name; a relative name
// is resolved against the home directory. A missing file is reported with an
// error for which errors.Is(err, fs.ErrNotExist) holds.
func (h *Host) ReadFile(name string) ([]byte, error) {
	f, err := h.lookupFile(h.resolve("", name))
	if err != nil {
		return nil, err
	}
	return slices.Clone(f.data), nil
}

// lookupFile returns the file at p, following symbolic links (up to 8) as
// opening a file does.
func (h *Host) lookupFile(p string) (*file, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for hops := 0; ; hops++ {
		f, ok := h.files[p]
		switch {
		case ok && f.target == "":
			return f, nil
		case ok && hops < 8:
			p = h.resolve(path.Dir(p), f.target)
			continue
		case ok:
			return nil, &fs.PathError{Op: "open", Path: p, Err: errLoop}
		}
		if h.dirs[p] {
			return nil, &fs.PathError{Op: "open", Path: p, Err: errIsDir}
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
}

// Stat describes the file, directory or symbolic link at name (a link is
// described itself, not followed, as by os.Lstat); a relative name is
// resolved against the home directory. Directories have mode
// fs.ModeDir|0755 unless changed through nodeops.ApplyTree (dproc/nodeops).
func (h *Host) Stat(name string) (fs.FileInfo, error) {
	p := h.resolve("", name)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.statLocked(p)
}

func (h *Host) statLocked(p string) (fs.FileInfo, error) {
	if f, ok := h.files[p]; ok {
		size := int64(len(f.data))
		if f.target != "" {
			size = int64(len(f.target))
		}
		return fileInfo{name: path.Base(p), size: size, mode: f.mode, mtime: f.mtime}, nil
	}
	if h.dirs[p] {
		m := h.dirMetaLocked(p)
		return fileInfo{name: path.Base(p), mode: fs.ModeDir | m.mode, mtime: m.mtime}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
}

// Remove deletes the file at name; a relative name is resolved against the
// home directory. A missing file is not an error. An empty directory is
// removed too; a directory that is not empty is an error.
func (h *Host) Remove(name string) error {
	p := h.resolve("", name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.files[p]; ok {
		delete(h.files, p)
		return nil
	}
	if !h.dirs[p] {
		return nil
	}
	if p == "/" || h.hasChildrenLocked(p) {
		return &fs.PathError{Op: "remove", Path: p, Err: errNotEmpty}
	}
	delete(h.dirs, p)
	return nil
}

func (h *Host) hasChildrenLocked(dir string) bool {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range h.files {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	for p := range h.dirs {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// removeAllLocked deletes p and everything under it.
func (h *Host) removeAllLocked(p string) {
	delete(h.files, p)
	if !h.dirs[p] {
		return
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for q := range h.files {
		if strings.HasPrefix(q, prefix) {
			delete(h.files, q)
		}
	}
	for q := range h.dirs {
		if strings.HasPrefix(q, prefix) {
			delete(h.dirs, q)
			delete(h.dirMeta, q)
		}
	}
	if p != "/" {
		delete(h.dirs, p)
		delete(h.dirMeta, p)
	}
}

func (h *Host) dirMetaLocked(p string) dirMeta {
	if m, ok := h.dirMeta[p]; ok {
		return m
	}
	return dirMeta{mode: 0o755}
}

// MkdirAll creates the directory name and any missing parents; a relative
// name is resolved against the home directory.
func (h *Host) MkdirAll(name string) error {
	p := h.resolve("", name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.mkdirAllLocked(p); err != nil {
		return &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	return nil
}

func (h *Host) mkdirAllLocked(p string) error {
	var missing []string
	for q := p; ; q = path.Dir(q) {
		if h.dirs[q] {
			break
		}
		if _, ok := h.files[q]; ok {
			return errNotDir
		}
		missing = append(missing, q)
		if q == "/" {
			break
		}
	}
	for _, q := range missing {
		h.dirs[q] = true
	}
	return nil
}

// Files returns the absolute paths of all files on the host, sorted.
// Directories are not listed.
func (h *Host) Files() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.files))
	for p := range h.files {
		names = append(names, p)
	}
	slices.Sort(names)
	return names
}

type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return fi.mtime }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }

// ---- faults ----

// FailNext makes the next n calls on the host (Run, Put, Get, Ping, Remove,
// Checksum, in the order they arrive) fail at once, without effect, with an
// error that wraps [transport.ErrLost] and err ([ErrInjected] when err is
// nil). It replaces any earlier FailNext; n <= 0 cancels it.
func (h *Host) FailNext(n int, err error) {
	if err == nil {
		err = ErrInjected
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failN = max(n, 0)
	h.failErr = err
}

// SetDown makes the host unreachable (true) or reachable again (false). While
// it is down, every new call fails at once with an error that wraps
// [transport.ErrLost] and [ErrDown]; calls already running are not affected
// (use [Host.Kill] for that).
func (h *Host) SetDown(down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = down
}

// Hang freezes (true) or thaws (false) the host. While it is frozen, new
// calls block before they start, and the data streams of running calls (a
// command's stdin and output, Put and Get data) stop, until the host is
// thawed or the call's context ends, the host is killed or the Transport is
// closed. Go code in a running command is not stopped, only its I/O.
func (h *Host) Hang(frozen bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case frozen && h.hangCh == nil:
		h.hangCh = make(chan struct{})
	case !frozen && h.hangCh != nil:
		close(h.hangCh)
		h.hangCh = nil
	}
}

func (h *Host) hangChan() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hangCh
}

// SetLatency adds d to the start of every call on the host (0, the default,
// means none). A call's context ending interrupts the wait.
func (h *Host) SetLatency(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lat = max(d, 0)
}

func (h *Host) latency() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lat
}

// SetBandwidth limits each data stream of each call on the host (a command's
// stdin, stdout and stderr, Put and Get data) to about bytesPerSec bytes per
// second. 0, the default, means no limit.
func (h *Host) SetBandwidth(bytesPerSec int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bw = max(bytesPerSec, 0)
}

func (h *Host) bandwidth() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bw
}

// Kill makes the host die now. Every call running on it ends at once with an
// error that wraps [transport.ErrLost] and [ErrKilled] (never an exit
// status); the contexts of its running commands are cancelled; a Put in
// progress stores nothing. Later calls fail the same way until [Host.Revive].
// Files stay as they were, as on a disk. Killing a dead host does nothing.
func (h *Host) Kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.killLocked()
}

func (h *Host) killLocked() {
	if !h.life.isDead() {
		close(h.life.dead)
	}
	h.dieAfter = -1
}

// Revive brings a dead host back: later calls reach it again. It does not
// change SetDown, Hang or the other controls. Reviving a live host does
// nothing.
func (h *Host) Revive() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.life.isDead() {
		h.life = &life{dead: make(chan struct{})}
	}
}

// Dead reports whether the host was killed and not revived.
func (h *Host) Dead() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.life.isDead()
}

// DieAfter arms the host to die, as by [Host.Kill], once running commands
// have read n more bytes of standard input, counted over all commands on the
// host. The read that reaches n returns its bytes and then the host dies, so
// a command sees exactly n bytes. n == 0 kills the host now; n < 0 disarms.
func (h *Host) DieAfter(n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case n == 0:
		h.killLocked()
	case n < 0:
		h.dieAfter = -1
	default:
		h.dieAfter = n
	}
}

// CutAfter cuts the standard output of the next Run on the host after n
// bytes: the command's first n bytes of output reach Command.Stdout, its
// next write fails, its context is cancelled, and Run returns an error that
// wraps [transport.ErrLost] and [ErrCut]. The partial output stays written:
// callers must discard the output of a Run that failed. A command that writes
// no more than n bytes is not affected. n < 0 disarms.
func (h *Host) CutAfter(n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cutAfter = max(n, -1)
}

// takeCut returns and disarms the pending CutAfter, or -1.
func (h *Host) takeCut() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.cutAfter
	h.cutAfter = -1
	return n
}

// consumeStdin accounts n bytes read by a command of life l and reports
// whether the host must die now.
func (h *Host) consumeStdin(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addIn(n)
	if h.dieAfter < 0 || n == 0 {
		return
	}
	h.dieAfter -= int64(n)
	if h.dieAfter <= 0 {
		h.killLocked()
	}
}

// stdinAllowance returns how many bytes a command may read before the host
// dies, or -1 for no limit.
func (h *Host) stdinAllowance() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dieAfter
}

// admit applies the faults that decide at once whether a call reaches the
// host, and returns the host's current life.
func (h *Host) admit() (*life, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.failN > 0:
		h.failN--
		return nil, transport.Lost(h.failErr)
	case h.down:
		return nil, transport.Lost(ErrDown)
	case h.life.isDead():
		return nil, transport.Lost(ErrKilled)
	}
	return h.life, nil
}

// ---- running commands ----

// Running returns how many commands are running on the host now: Runs that
// have started their command and not returned.
func (h *Host) Running() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running
}

// WaitRunning blocks until at least n commands are running on the host, or
// ctx ends. Fault tests use it to inject a fault while a command runs,
// without sleeping.
func (h *Host) WaitRunning(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		running, changed := h.running, h.changed
		h.mu.Unlock()
		if running >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (h *Host) addRunning(d int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running += d
	close(h.changed)
	h.changed = make(chan struct{})
}

// ---- counters ----

// Stats counts the calls made on a host and the bytes they moved.
type Stats struct {
	Calls    int64 // calls of every kind, including failed ones
	Runs     int64 // Run calls, including failed ones
	Puts     int64 // Put calls, including failed ones
	Gets     int64 // Get calls, including failed ones
	BytesIn  int64 // bytes sent to the host: stdin read by commands, Put data
	BytesOut int64 // bytes from the host: stdout and stderr written, Get data
	Failures int64 // calls that returned an error of any kind
	Lost     int64 // failures for which transport.IsLost holds
}

func (s *Stats) add(o Stats) {
	s.Calls += o.Calls
	s.Runs += o.Runs
	s.Puts += o.Puts
	s.Gets += o.Gets
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.Failures += o.Failures
	s.Lost += o.Lost
}

// Stats returns the host's counters.
func (h *Host) Stats() Stats {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	return h.stats
}

func (h *Host) count(op string) {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	h.stats.Calls++
	switch op {
	case "run":
		h.stats.Runs++
	case "put":
		h.stats.Puts++
	case "get":
		h.stats.Gets++
	}
}

func (h *Host) countFailure(err error) {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	h.stats.Failures++
	if transport.IsLost(err) {
		h.stats.Lost++
	}
}

func (h *Host) addIn(n int) {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	h.stats.BytesIn += int64(n)
}

func (h *Host) addOut(n int) {
	h.statsMu.Lock()
	defer h.statsMu.Unlock()
	h.stats.BytesOut += int64(n)
}
