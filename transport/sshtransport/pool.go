package sshtransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"dproc/transport"
)

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// errKeepalive is the cause of a connection closed by the keepalive.
var errKeepalive = errors.New("no reply to keepalives")

// hostPool holds the connections to one host string.
type hostPool struct {
	t    *Transport
	name string
	hs   chan struct{} // handshake slots

	cfgOnce sync.Once
	cfg     *hostConfig
	cfgErr  error

	mu       sync.Mutex
	conns    []*conn
	dialing  int
	waiting  int           // callers waiting for a session slot
	changed  chan struct{} // closed and replaced when a slot or connection changes
	failures int
	failGen  int // counts failed dials
	retryAt  time.Time
	lastErr  error
}

// conn is one SSH connection (with its ProxyJump hops) to a host.
type conn struct {
	p      *hostPool
	client *ssh.Client
	jumps  []*ssh.Client

	limit int // exec sessions allowed at once; guarded by p.mu
	busy  int // exec sessions open; guarded by p.mu

	done      chan struct{} // closed when the connection is gone
	err       error         // why; set before done is closed
	closeOnce sync.Once

	sftpMu   sync.Mutex
	sftp     *sftp.Client
	sftpSess *ssh.Session
	noSFTP   bool
}

func (t *Transport) pool(host string) *hostPool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.hosts[host]
	if p == nil {
		p = &hostPool{
			t:       t,
			name:    host,
			hs:      make(chan struct{}, t.opts.HandshakeConcurrency),
			changed: make(chan struct{}),
		}
		t.hosts[host] = p
	}
	return p
}

func (p *hostPool) config() (*hostConfig, error) {
	p.cfgOnce.Do(func() { p.cfg, p.cfgErr = p.t.res.resolve(p.name) })
	return p.cfg, p.cfgErr
}

// broadcast wakes every waiter; p.mu must be held.
func (p *hostPool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (c *conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// fail closes the connection for reason err (the first reason wins).
func (c *conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		close(c.done)
		c.client.Close()
		for i := len(c.jumps) - 1; i >= 0; i-- {
			c.jumps[i].Close()
		}
		c.sftpMu.Lock()
		if c.sftp != nil {
			c.sftp.Close()
		}
		c.sftpMu.Unlock()
		p := c.p
		p.mu.Lock()
		for i, x := range p.conns {
			if x == c {
				p.conns = append(p.conns[:i], p.conns[i+1:]...)
				break
			}
		}
		p.broadcast()
		p.mu.Unlock()
	})
}

// lostErr returns the error for a session that broke on c.
func (c *conn) lostErr(cause error) error {
	if c.p.t.isClosed() {
		return transport.ErrClosed
	}
	select {
	case <-c.done:
		if c.err != nil {
			return transport.LostError(c.err)
		}
	default:
	}
	return transport.LostError(cause)
}

// acquire returns a live connection to the host, dialling one when needed.
// With slot, it also reserves one exec session on it; release it with
// release.
func (p *hostPool) acquire(ctx context.Context, slot bool) (*conn, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.mu.Lock()
		if p.t.isClosed() {
			p.mu.Unlock()
			return nil, transport.ErrClosed
		}
		for _, c := range p.conns {
			if c.alive() && (!slot || c.busy < c.limit) {
				if slot {
					c.busy++
				}
				p.mu.Unlock()
				return c, nil
			}
		}
		// Dial when the connections being dialled cannot serve everyone
		// waiting, within MaxConnsPerHost.
		perConn := p.t.opts.MaxSessions - 1
		need := p.dialing == 0
		if slot {
			need = p.waiting+1 > p.dialing*perConn
		}
		if max := p.t.opts.MaxConnsPerHost; max > 0 && len(p.conns)+p.dialing >= max {
			need = false
		}
		if need {
			p.dialing++
			wait := time.Until(p.retryAt)
			p.mu.Unlock()
			c, err := p.dialAfter(ctx, wait)
			p.mu.Lock()
			p.dialing--
			if err != nil {
				if ctx.Err() == nil && !p.t.isClosed() {
					p.failures++
					p.failGen++
					p.retryAt = time.Now().Add(backoff(p.failures))
					p.lastErr = err
				}
				p.broadcast()
				p.mu.Unlock()
				return nil, err
			}
			if p.t.isClosed() {
				// Close ran while dialling and could not see c.
				p.mu.Unlock()
				c.fail(transport.ErrClosed)
				return nil, transport.ErrClosed
			}
			p.failures = 0
			p.conns = append(p.conns, c)
			if slot {
				c.busy++
			}
			p.broadcast()
			p.mu.Unlock()
			return c, nil
		}
		ch, gen := p.changed, p.failGen
		p.waiting++
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-p.t.closing:
		}
		p.mu.Lock()
		p.waiting--
		failed := p.failGen != gen && len(p.conns) == 0
		lastErr := p.lastErr
		p.mu.Unlock()
		if failed && ctx.Err() == nil {
			// The dial this caller waited for failed.
			return nil, lastErr
		}
	}
}

// release gives back a session slot taken by acquire.
func (p *hostPool) release(c *conn) {
	p.mu.Lock()
	c.busy--
	if p.waiting > 0 {
		p.broadcast()
	}
	p.mu.Unlock()
}

// lowerLimit records that the server refused a session on c with busy
// sessions open: its MaxSessions is lower than ours.
func (p *hostPool) lowerLimit(c *conn) {
	p.mu.Lock()
	if l := c.busy - 1; l >= 1 && l < c.limit {
		c.limit = l
	}
	p.mu.Unlock()
}

func backoff(failures int) time.Duration {
	d := minBackoff << min(failures-1, 10)
	return min(d, maxBackoff)
}

// dialAfter waits for wait (the reconnect backoff), then for a handshake
// slot, and dials.
func (p *hostPool) dialAfter(ctx context.Context, wait time.Duration) (*conn, error) {
	if wait > 0 {
		tm := time.NewTimer(wait)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return nil, ctx.Err()
		case <-p.t.closing:
			tm.Stop()
			return nil, transport.ErrClosed
		}
	}
	h, err := p.config()
	if err != nil {
		return nil, err
	}
	select {
	case p.hs <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.t.closing:
		return nil, transport.ErrClosed
	}
	defer func() { <-p.hs }()

	var jumps []*ssh.Client
	var client *ssh.Client
	for _, hop := range append(append([]*hostConfig(nil), h.Jumps...), h) {
		var via *ssh.Client
		if len(jumps) > 0 {
			via = jumps[len(jumps)-1]
		}
		c, err := p.t.dialHop(ctx, hop, via)
		if err != nil {
			for i := len(jumps) - 1; i >= 0; i-- {
				jumps[i].Close()
			}
			if hop != h {
				err = fmt.Errorf("via ProxyJump %s: %w", hop.addr(), err)
			}
			return nil, err
		}
		if hop == h {
			client = c
		} else {
			jumps = append(jumps, c)
		}
	}
	c := &conn{p: p, client: client, jumps: jumps, limit: p.t.opts.MaxSessions - 1, done: make(chan struct{})}
	if !p.t.spawn(func() {
		err := client.Wait()
		if err == nil {
			err = io.EOF
		}
		c.fail(fmt.Errorf("connection closed: %w", err))
	}) {
		client.Close()
		for _, j := range jumps {
			j.Close()
		}
		return nil, transport.ErrClosed
	}
	if interval, count := keepaliveParams(&p.t.opts, h); interval > 0 {
		p.t.spawn(func() { c.keepalive(interval, count) })
	}
	return c, nil
}

// keepaliveParams returns the keepalive interval (0: none) and count for h:
// ServerAliveInterval and ServerAliveCountMax from the config win over the
// options.
func keepaliveParams(o *Options, h *hostConfig) (time.Duration, int) {
	interval, count := o.KeepaliveInterval, o.KeepaliveCountMax
	if h.AliveSet {
		interval = h.AliveInterval
	}
	if h.AliveCountMaxSet {
		// ServerAliveCountMax 0 makes ssh drop the connection after one
		// silent interval without probing, even from a healthy idle
		// server; here it gives up after one unanswered probe instead,
		// which notices a dead peer as fast and keeps idle connections.
		count = max(h.AliveCountMax, 1)
	}
	return max(interval, 0), count
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when count requests in a row got no reply.
func (c *conn) keepalive(interval time.Duration, count int) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	replies := make(chan error, 1)
	outstanding, missed := false, 0
	for {
		select {
		case <-c.done:
			return
		case err := <-replies:
			outstanding = false
			missed = 0
			if err != nil {
				c.fail(fmt.Errorf("keepalive: %w", err))
				return
			}
		case <-tk.C:
			if outstanding {
				missed++
				if missed >= count {
					c.fail(fmt.Errorf("%w in %v (%d × %v)", errKeepalive, time.Duration(count)*interval, count, interval))
					return
				}
				continue
			}
			outstanding = true
			go func() {
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			}()
		}
	}
}

// dialHop connects to one hop, directly or through via, and authenticates.
// A handshake reset (the server's MaxStartups) is retried twice.
func (t *Transport) dialHop(ctx context.Context, h *hostConfig, via *ssh.Client) (*ssh.Client, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			d := time.Duration(50+rand.IntN(200)) * time.Millisecond
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var c *ssh.Client
		var reset bool
		c, reset, err = t.dialOnce(ctx, h, via)
		if err == nil || !reset {
			return c, err
		}
	}
	return nil, err
}

// connectTimeout is the bound on one hop's TCP connect and, separately, its
// handshake: the config's ConnectTimeout when it sets one, else
// Options.ConnectTimeout. 0 means none, as "ConnectTimeout 0" means for ssh
// (only the context and the system's TCP timeout bound the dial then).
func connectTimeout(o *Options, h *hostConfig) time.Duration {
	if h.ConnectTimeoutSet {
		return max(h.ConnectTimeout, 0)
	}
	return o.ConnectTimeout
}

// withTimeout is context.WithTimeout, except that a timeout of 0 adds no
// deadline.
func withTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

func (t *Transport) dialOnce(ctx context.Context, h *hostConfig, via *ssh.Client) (_ *ssh.Client, reset bool, _ error) {
	timeout := connectTimeout(&t.opts, h)
	checker, err := newHostKeyChecker(h, t.opts.KnownHostsFiles, t.opts.AcceptNew)
	if err != nil {
		return nil, false, err
	}

	dctx, cancel := withTimeout(ctx, timeout)
	var nc net.Conn
	if via == nil {
		d := net.Dialer{KeepAlive: 15 * time.Second}
		nc, err = d.DialContext(dctx, "tcp", h.addr())
	} else {
		nc, err = via.DialContext(dctx, "tcp", h.addr())
	}
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, false, fmt.Errorf("%w: %w", transport.ErrUnknownHost, err)
		}
		return nil, false, transport.LostError(err)
	}

	auth, authDone, err := t.authFor(h)
	if err != nil {
		nc.Close()
		return nil, false, err
	}
	defer authDone()
	algs, err := checker.algorithms()
	if err != nil {
		nc.Close()
		return nil, false, err
	}
	cfg := &ssh.ClientConfig{
		User:              h.User,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   checker.check,
		HostKeyAlgorithms: algs,
		Timeout:           timeout,
	}
	hctx, hcancel := withTimeout(ctx, timeout)
	defer hcancel()
	stop := context.AfterFunc(hctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, h.keyAddr(), cfg)
	stopped := stop()
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, false, err
		}
		if hkErr := checker.hostKeyAlgError(err); hkErr != nil {
			return nil, false, hkErr
		}
		if hctx.Err() != nil {
			return nil, false, transport.LostError(fmt.Errorf("handshake timed out after %v: %w", timeout, err))
		}
		if checker.accepted.Load() && !isConnError(err) {
			// The host proved its identity and then refused every key.
			return nil, false, fmt.Errorf("%w for %s@%s: %w", ErrAuth, h.User, h.addr(), err)
		}
		reset = errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
		return nil, reset, transport.LostError(err)
	}
	if !stopped {
		sc.Close()
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, transport.LostError(fmt.Errorf("handshake timed out after %v", timeout))
	}
	return ssh.NewClient(sc, chans, reqs), false, nil
}

// isConnError reports whether err is the connection failing (closed,
// reset, timed out) rather than the server's answer.
func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}
