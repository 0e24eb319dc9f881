package memtransport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"

	"dproc/transport"
)

// Compile-time checks that *Transport implements the transport interfaces.
var (
	_ transport.Transport   = (*Transport)(nil)
	_ transport.Pinger      = (*Transport)(nil)
	_ transport.Remover     = (*Transport)(nil)
	_ transport.Checksummer = (*Transport)(nil)
)

// Errors wrapped by the fault controls. Each is reported together with
// [transport.ErrLost], so errors.Is matches both.
var (
	// ErrInjected is the cause of a failure scripted with [Host.FailNext]
	// and a nil error.
	ErrInjected = errors.New("memtransport: injected failure")

	// ErrDown is the cause of every failure on a host set down with
	// [Host.SetDown]: the host refuses connections.
	ErrDown = errors.New("memtransport: connection refused (host is down)")

	// ErrKilled is the cause of every failure on a host killed with
	// [Host.Kill] or [Host.DieAfter], until [Host.Revive].
	ErrKilled = errors.New("memtransport: host died")

	// ErrCut is the cause of the failure of a Run whose output stream was
	// cut with [Host.CutAfter].
	ErrCut = errors.New("memtransport: connection cut mid-stream")
)

// Options configures a [Transport]. A nil *Options means all defaults.
type Options struct {
	// Hosts are added as if by [Transport.AddHost]. Default: none.
	Hosts []string

	// DisableBuiltins turns off the builtin commands (cat, echo, ...), so
	// that only commands registered with Handle run. Default: false, the
	// builtins are available.
	DisableBuiltins bool
}

// Transport is an in-memory [transport.Transport]. Its hosts are values in a
// map, their files are byte slices and their commands are Go functions.
//
// The zero value is ready to use and has no hosts; [New] is the usual way to
// make one. A Transport is safe for concurrent use.
type Transport struct {
	mu     sync.Mutex
	w      *world
	closed bool
	done   chan struct{} // closed by Close
	calls  sync.WaitGroup
}

// world is what the Transports made by Share have in common: the hosts and
// the commands registered for all of them.
type world struct {
	mu       sync.Mutex
	builtins bool
	hosts    map[string]*Host
	handlers map[string]Func
}

// New returns a Transport with the hosts named in opts. A nil opts means
// defaults: no hosts, builtins on.
func New(opts *Options) *Transport {
	if opts == nil {
		opts = &Options{}
	}
	t := &Transport{}
	t.world().builtins = !opts.DisableBuiltins
	for _, h := range opts.Hosts {
		t.AddHost(h)
	}
	return t
}

// world returns t's hosts and handlers, making them for the zero value.
func (t *Transport) world() *world {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.initLocked()
	return t.w
}

func (t *Transport) initLocked() {
	if t.w == nil {
		t.w = &world{builtins: true, hosts: make(map[string]*Host), handlers: make(map[string]Func)}
	}
	if t.done == nil {
		t.done = make(chan struct{})
	}
}

// Share returns a new Transport that reaches the same hosts as t, with the
// same files, faults, counters and registered commands (a host added or a
// command registered through either is seen by both), but that is closed on
// its own: as two clients of the same machines. Closing t does not close the
// new Transport, nor the other way round.
func (t *Transport) Share() *Transport {
	return &Transport{w: t.world(), done: make(chan struct{})}
}

// AddHost adds a host named name, with an empty file system holding only its
// home directory "/home/<name>", and returns its control handle. Adding a
// host that exists already returns the existing handle, files and faults
// intact. AddHost panics if name is empty.
func (t *Transport) AddHost(name string) *Host {
	if name == "" {
		panic("memtransport: AddHost with an empty host name")
	}
	w := t.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	if h, ok := w.hosts[name]; ok {
		return h
	}
	h := newHost(name)
	w.hosts[name] = h
	return h
}

// Host returns the control handle of the host named name, or nil if there is
// no such host.
func (t *Transport) Host(name string) *Host {
	w := t.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hosts[name]
}

// Hosts returns the names of all hosts, sorted.
func (t *Transport) Hosts() []string {
	w := t.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	names := make([]string, 0, len(w.hosts))
	for n := range w.hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Handle registers fn as the command name on every host. name is matched
// against a command's Args[0], or against its whole Shell line (exactly, byte
// for byte). A later registration of the same name replaces the earlier one;
// a registration overrides a builtin of the same name, and is itself
// overridden on one host by [Host.Handle]. Handle panics if name is empty or
// fn is nil.
func (t *Transport) Handle(name string, fn Func) {
	checkHandle(name, fn)
	w := t.world()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[name] = fn
}

func checkHandle(name string, fn Func) {
	if name == "" {
		panic("memtransport: Handle with an empty name")
	}
	if fn == nil {
		panic("memtransport: Handle with a nil Func for " + name)
	}
}

// Stats returns the sum of the counters of every host.
func (t *Transport) Stats() Stats {
	w := t.world()
	w.mu.Lock()
	hosts := make([]*Host, 0, len(w.hosts))
	for _, h := range w.hosts {
		hosts = append(hosts, h)
	}
	w.mu.Unlock()
	var s Stats
	for _, h := range hosts {
		s.add(h.Stats())
	}
	return s
}

// Close stops every call in progress through t, waits for them to return,
// and makes every later call through t fail with [transport.ErrClosed].
// Hosts and their files stay readable through their handles, and reachable
// through the Transports made by [Transport.Share]. A Put blocked in a Read
// of its reader holds Close until that Read returns. Close always returns nil and may be
// called more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.initLocked()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	t.mu.Unlock()
	t.calls.Wait()
	return nil
}

// begin starts a call of op on host: it checks that the transport is open and
// the host known, counts the call, and applies the host's faults (scripted
// failures, down, dead, hang, latency). On success the caller must call
// c.end exactly once.
func (t *Transport) begin(ctx context.Context, op, host, path string) (*call, error) {
	opErr := func(err error) error {
		return &transport.OpError{Op: op, Host: host, Path: path, Err: err}
	}
	if host == "" {
		return nil, opErr(fmt.Errorf("%w: empty host name", transport.ErrInvalid))
	}
	t.mu.Lock()
	t.initLocked()
	if t.closed {
		t.mu.Unlock()
		return nil, opErr(transport.ErrClosed)
	}
	w := t.w
	w.mu.Lock()
	h := w.hosts[host]
	w.mu.Unlock()
	if h == nil {
		t.mu.Unlock()
		return nil, opErr(transport.ErrUnknownHost)
	}
	rel, err := transport.HomeRel(path)
	if err != nil {
		t.mu.Unlock()
		return nil, opErr(err)
	}
	t.calls.Add(1)
	t.mu.Unlock()

	c := &call{t: t, h: h, op: op, path: path, rel: rel}
	h.count(op)
	if err := ctx.Err(); err != nil {
		return nil, c.end(err)
	}
	life, err := h.admit()
	if err != nil {
		return nil, c.end(err)
	}
	c.life = life
	if err := c.gate(ctx); err != nil {
		return nil, c.end(err)
	}
	if err := c.sleep(ctx, h.latency()); err != nil {
		return nil, c.end(err)
	}
	return c, nil
}

// Run runs cmd on host; see [transport.Transport]. The command is looked up
// as the package documentation describes, and runs as a Go function in its
// own goroutine.
func (t *Transport) Run(ctx context.Context, host string, cmd *transport.Command) error {
	if cmd != nil && cmd.Unread != nil {
		*cmd.Unread = -1
	}
	if err := cmd.Validate(); err != nil {
		return &transport.OpError{Op: "run", Host: host, Err: err}
	}
	c, err := t.begin(ctx, "run", host, "")
	if err != nil {
		return err
	}
	dir, err := transport.HomeRel(cmd.Dir)
	if err != nil {
		return c.end(err)
	}
	return c.end(c.run(ctx, cmd, dir))
}

// Put writes the contents of r to path on host; see [transport.Transport].
// The data becomes visible only once r has been read to EOF without error
// and the call was not cancelled, and then all at once. r is read in the
// calling goroutine, so a Read that blocks forever blocks Put.
func (t *Transport) Put(ctx context.Context, host, path string, r io.Reader, mode fs.FileMode) error {
	c, err := t.begin(ctx, "put", host, path)
	if err != nil {
		return err
	}
	return c.end(c.put(ctx, r, mode))
}

// Get copies the file at path on host into w; see [transport.Transport].
func (t *Transport) Get(ctx context.Context, host, path string, w io.Writer) error {
	c, err := t.begin(ctx, "get", host, path)
	if err != nil {
		return err
	}
	return c.end(c.get(ctx, w))
}

// Ping implements [transport.Pinger]: it succeeds when a call on host would
// reach it now, and is subject to the host's faults like any other call.
func (t *Transport) Ping(ctx context.Context, host string) error {
	c, err := t.begin(ctx, "ping", host, "")
	if err != nil {
		return err
	}
	return c.end(nil)
}

// Remove implements [transport.Remover]: it deletes the file at path on
// host. A missing file is not an error; a directory is.
func (t *Transport) Remove(ctx context.Context, host, path string) error {
	c, err := t.begin(ctx, "remove", host, path)
	if err != nil {
		return err
	}
	return c.end(c.h.Remove(c.rel))
}

// Checksum implements [transport.Checksummer]: the lowercase hex SHA-256 of
// each file in paths on host, "" for a file that does not exist.
func (t *Transport) Checksum(ctx context.Context, host string, paths []string) ([]string, error) {
	c, err := t.begin(ctx, "checksum", host, "")
	if err != nil {
		return nil, err
	}
	sums := make([]string, len(paths))
	for i, p := range paths {
		rel, err := transport.HomeRel(p)
		if err != nil {
			return nil, c.end(err)
		}
		f, err := c.h.lookupFile(c.h.resolve("", rel))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, c.end(err)
		}
		s := sha256.Sum256(f.data)
		sums[i] = hex.EncodeToString(s[:])
	}
	return sums, c.end(nil)
}
