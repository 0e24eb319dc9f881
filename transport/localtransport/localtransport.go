package localtransport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"dproc/transport"
)

var (
	_ transport.Transport   = (*Transport)(nil)
	_ transport.Pinger      = (*Transport)(nil)
	_ transport.Remover     = (*Transport)(nil)
	_ transport.Checksummer = (*Transport)(nil)
)

// Options configures a [Transport]. A nil *Options means all defaults.
type Options struct {
	// Hosts are added with [Transport.AddHost] by [New]. Default: none;
	// every directory already under the root is a host anyway.
	Hosts []string

	// Shell is the POSIX shell that runs [transport.Command.Shell] lines,
	// as Shell -c LINE. Default: "/bin/sh".
	Shell string
}

// Transport runs commands as local processes. Each host is a directory under
// the root given to [New], which is the host's home. It is safe for
// concurrent use.
type Transport struct {
	root  string
	shell string

	mu      sync.Mutex
	closed  bool
	ops     map[*op]struct{} // operations in progress, stopped by Close
	running sync.WaitGroup

	watcher watcher  // kills the commands' groups if this process dies
	swept   sync.Map // directories swept of stale Put temporaries
}

// op is one operation in progress.
type op struct {
	cancel context.CancelCauseFunc
}

// New returns a Transport whose hosts are the directories under root. Root is
// created if it does not exist, and made absolute.
func New(root string, opts *Options) (*Transport, error) {
	if opts == nil {
		opts = &Options{}
	}
	if root == "" {
		return nil, fmt.Errorf("localtransport: %w: empty root", transport.ErrInvalid)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("localtransport: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("localtransport: %w", err)
	}
	t := &Transport{root: abs, shell: opts.Shell, ops: make(map[*op]struct{}), watcher: newWatcher()}
	if t.shell == "" {
		t.shell = "/bin/sh"
	}
	for _, h := range opts.Hosts {
		if err := t.AddHost(h); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Root returns the absolute directory that holds the hosts.
func (t *Transport) Root() string { return t.root }

// HostDir returns the home directory of host: root/host. It does not check
// that the directory exists.
func (t *Transport) HostDir(host string) (string, error) {
	if err := validHost(host); err != nil {
		return "", err
	}
	return filepath.Join(t.root, host), nil
}

// AddHost creates the directory of host under the root if it does not exist.
// A host name must be non-empty, hold no '/' and no NUL byte, and be neither
// "." nor ".."; otherwise the error matches [transport.ErrInvalid].
func (t *Transport) AddHost(name string) error {
	dir, err := t.HostDir(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &transport.OpError{Op: "addhost", Host: name, Err: err}
	}
	return nil
}

func validHost(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("localtransport: %w: empty host name", transport.ErrInvalid)
	case name == "." || name == "..":
		return fmt.Errorf("localtransport: %w: host name %q", transport.ErrInvalid, name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("localtransport: %w: host name %q holds '/' or NUL", transport.ErrInvalid, name)
	}
	return nil
}

// begin starts an operation on host: it checks that the Transport is open,
// that ctx has not ended and that the host exists, and returns the host's
// directory and a context that Close cancels with cause ErrClosed. The caller
// must call end.
func (t *Transport) begin(ctx context.Context, opName, host, path string) (home string, octx context.Context, end func(), err error) {
	fail := func(err error) (string, context.Context, func(), error) {
		return "", nil, nil, &transport.OpError{Op: opName, Host: host, Path: path, Err: err}
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return fail(transport.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	home, err = t.HostDir(host)
	if err != nil {
		return fail(err)
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		return fail(fmt.Errorf("%w: no directory %s", transport.ErrUnknownHost, home))
	}
	if _, err := transport.HomeRel(path); err != nil {
		return fail(err)
	}

	octx, cancel := context.WithCancelCause(ctx)
	o := &op{cancel: cancel}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		cancel(nil)
		return fail(transport.ErrClosed)
	}
	t.ops[o] = struct{}{}
	t.running.Add(1)
	t.mu.Unlock()
	end = func() {
		t.mu.Lock()
		delete(t.ops, o)
		t.mu.Unlock()
		cancel(nil)
		t.running.Done()
	}
	return home, octx, end, nil
}

// ctxErr returns the error to report for an operation whose context octx
// ended: ErrClosed when Close stopped it, else the caller's ctx error.
func ctxErr(octx context.Context) error {
	if cause := context.Cause(octx); errors.Is(cause, transport.ErrClosed) {
		return transport.ErrClosed
	}
	return octx.Err()
}

// resolve returns p resolved against home, a leading "~" read as
// [transport.HomeRel] reads it (a "~user" p has been refused before).
func resolve(home, p string) string {
	if rel, err := transport.HomeRel(p); err == nil {
		p = rel
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(home, p)
}

// Close stops every command and file transfer in progress, waits for them to
// return, and makes every later call fail with [transport.ErrClosed]. It may
// be called more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	ops := make([]*op, 0, len(t.ops))
	for o := range t.ops {
		ops = append(ops, o)
	}
	t.mu.Unlock()
	for _, o := range ops {
		o.cancel(transport.ErrClosed)
	}
	t.running.Wait()
	t.watcher.stop()
	return nil
}
