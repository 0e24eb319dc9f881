package sshtransport

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"dproc/transport"
)

var (
	_ transport.Transport   = (*Transport)(nil)
	_ transport.Pinger      = (*Transport)(nil)
	_ transport.Remover     = (*Transport)(nil)
	_ transport.Checksummer = (*Transport)(nil)
)

var errEmptyHost = fmt.Errorf("%w: empty host", transport.ErrInvalid)

// Transport runs commands and moves files over SSH. It is safe for
// concurrent use; the zero value is not usable, call [New].
type Transport struct {
	opts Options
	res  *resolver
	keys *keyCache

	closing     chan struct{}   // closed by Close
	closeCtx    context.Context // cancelled by Close, with cause ErrClosed
	closeCancel context.CancelCauseFunc
	closeOnce   sync.Once
	calls       sync.WaitGroup // calls in flight; see begin
	wg          sync.WaitGroup // connection watchers and keepalives

	mu    sync.Mutex
	hosts map[string]*hostPool
}

// New returns a Transport configured by opts (nil means defaults). It reads
// and parses the ssh_config files now, and fails with an error naming the
// file and line when one cannot be parsed. It opens no connection: each host
// is dialled on first use.
func New(opts *Options) (*Transport, error) {
	o := opts.withDefaults()
	res, err := newResolver(&o)
	if err != nil {
		return nil, err
	}
	closeCtx, closeCancel := context.WithCancelCause(context.Background())
	return &Transport{
		opts:        o,
		res:         res,
		keys:        &keyCache{passphrase: o.Passphrase},
		closing:     make(chan struct{}),
		closeCtx:    closeCtx,
		closeCancel: closeCancel,
		hosts:       map[string]*hostPool{},
	}, nil
}

func (t *Transport) isClosed() bool {
	select {
	case <-t.closing:
		return true
	default:
		return false
	}
}

// begin starts a call of a method: it fails with [transport.ErrClosed] once
// Close has begun, and otherwise counts the call in flight until end is
// called and returns a context that ends with ctx or when Close runs,
// whichever comes first. A call that ends because of Close reports
// ErrClosed (see closedErr).
func (t *Transport) begin(ctx context.Context) (_ context.Context, end func(), _ error) {
	t.mu.Lock()
	if t.isClosed() {
		t.mu.Unlock()
		return ctx, func() {}, transport.ErrClosed
	}
	t.calls.Add(1)
	t.mu.Unlock()
	cctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(t.closeCtx, func() { cancel(transport.ErrClosed) })
	return cctx, func() {
		stop()
		cancel(nil)
		t.calls.Done()
	}, nil
}

// closedErr returns err as a call that began with the caller's context ctx
// reports it: a call cut short by Close (its context cancelled, or its
// connection closed under it) fails with [transport.ErrClosed], not with
// context.Canceled or [transport.ErrLost]. An exit status that arrived is
// kept.
func (t *Transport) closedErr(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || !t.isClosed() || errors.Is(err, transport.ErrClosed) {
		return err
	}
	var ee *transport.ExitError
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, transport.ErrLost) {
		return transport.ErrClosed
	}
	return err
}

// Close cancels every call in flight, closes every connection, and waits
// for the calls to return before it returns itself: commands still running
// are killed on their hosts (the wrapper kills the command's process group
// when its connection goes away), and the calls fail with
// [transport.ErrClosed]. Later calls fail with ErrClosed at once. Close may
// be called more than once, and from several goroutines; each call returns
// once the Transport is closed.
//
// A call blocked in a caller's reader or writer (the r of Put over SFTP,
// the w of Get, Command.Stdout and Command.Stderr of Run) holds Close until
// that Read or Write returns: nothing can interrupt it, except a read
// deadline, which Put sets on a reader that has them (an *os.File pipe or
// FIFO, a net.Conn) when Close runs. A Read of Command.Stdin does not hold
// Run, and so Close: once cancelled, Run returns without waiting for it. So
// Close must not be called from inside a reader or writer of a call in
// flight.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		close(t.closing)
		t.closeCancel(transport.ErrClosed)
		var conns []*conn
		for _, p := range t.hosts {
			p.mu.Lock()
			conns = append(conns, p.conns...)
			p.mu.Unlock()
		}
		t.mu.Unlock()
		for _, c := range conns {
			c.fail(transport.ErrClosed)
		}
	})
	t.calls.Wait()
	t.wg.Wait()
	return nil
}

// Ping checks that host answers on its connection (dialling it if needed)
// with a keepalive request: no session and no command. It returns nil when
// the host answers. A host that cannot be reached, or whose connection
// drops or does not answer, fails with an error matching
// [transport.ErrLost]. A refusal is reported as itself, never as lost: a
// host name that does not resolve ([transport.ErrUnknownHost]), a refused
// host key ([*HostKeyError]), failed authentication ([ErrAuth]), an empty
// host ([transport.ErrInvalid]) and a closed Transport
// ([transport.ErrClosed]). When ctx ends first, the error matches
// ctx.Err().
func (t *Transport) Ping(ctx context.Context, host string) error {
	opErr := t.opErr(ctx, "ping", host, "")
	if host == "" {
		return opErr(errEmptyHost)
	}
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return opErr(err)
	}
	defer end()
	c, err := t.pool(host).acquire(ctx, false)
	if err != nil {
		// As Run reports it: lost for a host that cannot be reached,
		// but a refused host key or failed authentication as itself.
		return opErr(err)
	}
	reply := make(chan error, 1)
	go func() {
		reply <- c.ask()
	}()
	select {
	case err := <-reply:
		if err != nil {
			return opErr(c.lostErr(err))
		}
		return nil
	case <-ctx.Done():
		return opErr(ctx.Err())
	case <-c.done:
		return opErr(c.lostErr(errors.New("connection closed")))
	}
}

// spawn runs f in a goroutine that Close waits for, unless t is closed.
func (t *Transport) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isClosed() {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}
