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

	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // connection watchers and keepalives

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
	return &Transport{
		opts:    o,
		res:     res,
		keys:    &keyCache{passphrase: o.Passphrase},
		closing: make(chan struct{}),
		hosts:   map[string]*hostPool{},
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

// Close closes every connection; commands still running fail with
// [transport.ErrClosed] and are killed on their hosts. Later calls return
// errors matching [transport.ErrClosed]. Close may be called more than once.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		close(t.closing)
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
	t.wg.Wait()
	return nil
}

// Ping checks that host answers on its connection (dialling it if needed)
// with a keepalive request: no session and no command. A failure matches
// [transport.ErrLost].
func (t *Transport) Ping(ctx context.Context, host string) error {
	opErr := func(err error) error {
		if err == nil {
			return nil
		}
		return &transport.OpError{Op: "ping", Host: host, Err: err}
	}
	if host == "" {
		return opErr(errEmptyHost)
	}
	c, err := t.pool(host).acquire(ctx, false)
	if err != nil {
		// As Run reports it: lost for a host that cannot be reached,
		// but a refused host key or failed authentication as itself.
		return opErr(err)
	}
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
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
