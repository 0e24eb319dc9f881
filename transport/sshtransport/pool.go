package sshtransport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
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
	limit    int       // exec sessions per connection learnt from refusals; 0: none yet
	idle     []*runner // reused sessions waiting for a command, oldest first
	noRunner bool      // the host cannot run the reused sessions' loop
	ran      bool      // a command of the host has been offered to runReused
}

// conn is one SSH connection (with its ProxyJump hops) to a host.
type conn struct {
	p      *hostPool
	client *ssh.Client
	jumps  []*ssh.Client
	wire   *activityConn // the target hop's transport, for the keepalive
	asked  atomic.Int64  // UnixNano when ask last sent a request with none unanswered

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
			return transport.Lost(c.err)
		}
	default:
	}
	return transport.Lost(cause)
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
		// An idle reused session gives its slot up before anyone waits
		// or dials for one.
		if slot && p.evictIdle() {
			p.mu.Unlock()
			continue
		}
		// Dial when the connections being dialled cannot serve everyone
		// waiting, within MaxConnsPerHost.
		perConn := p.perConn()
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
					p.failGen++
					if !errors.Is(err, transport.ErrUnknownHost) {
						// A name that does not resolve is looked up
						// again at once: a wait would only delay the
						// refusal.
						p.failures++
						p.retryAt = time.Now().Add(backoff(p.failures))
					}
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

// perConn returns how many exec sessions a new connection to the host
// takes: Options.MaxSessions-1, or less once the server refused a session.
// p.mu must be held.
func (p *hostPool) perConn() int {
	n := p.t.opts.MaxSessions - 1
	if p.limit > 0 {
		n = min(n, p.limit)
	}
	return n
}

// lowerLimit records that the server refused to open a session on c (after
// the caller released the slot it had for it): its MaxSessions is lower
// than ours. The sessions still open on c (c.busy) are what the server
// allows, less the one channel kept for SFTP while SFTP is not running yet;
// at least one. The limit applies to c and to every connection to the host
// dialled later, and only ever goes down.
//
// A session whose close is still on its way to the server counts there
// until the server has seen it, so a refusal can also come from a session
// just closed here. That costs at most one session on the connection: at
// the lowered limit the freed channel covers the one in flight.
func (p *hostPool) lowerLimit(c *conn) {
	reserve := false
	if c.sftpMu.TryLock() {
		// Held elsewhere means SFTP is being started: its channel is
		// being opened, so there is nothing to keep free for it.
		reserve = c.sftp == nil && !c.noSFTP
		c.sftpMu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := c.busy
	if reserve {
		l--
	}
	l = max(l, 1)
	c.limit = min(c.limit, l)
	if p.limit == 0 || l < p.limit {
		p.limit = l
	}
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

	var jumps []*ssh.Client
	var client *ssh.Client
	var wire *activityConn
	for _, hop := range append(append([]*hostConfig(nil), h.Jumps...), h) {
		var via *ssh.Client
		if len(jumps) > 0 {
			via = jumps[len(jumps)-1]
		}
		c, w, err := p.t.dialHop(ctx, hop, via)
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
			client, wire = c, w
		} else {
			jumps = append(jumps, c)
		}
	}
	p.mu.Lock()
	limit := p.perConn()
	p.mu.Unlock()
	c := &conn{p: p, client: client, jumps: jumps, wire: wire, limit: limit, done: make(chan struct{})}
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

// keepalive closes c when nothing has come from the server for
// (count+1)*interval: once the connection has been silent for interval it
// sends a keepalive@openssh.com request (one at a time), which a live
// server answers, and any byte received, an answer or data, ends the
// silence. This is how ssh reads ServerAliveInterval and
// ServerAliveCountMax: count probes may go unanswered, and a connection
// busy with traffic is never probed.
//
// Silence is measured by this process's clock from the last read, or from
// when the watch last woke up late: after this process has been stopped
// or starved for longer than interval, bytes may be waiting unread in the
// socket, so the silence is counted afresh from then.
func (c *conn) keepalive(interval time.Duration, count int) {
	budget := time.Duration(count+1) * interval
	replies := make(chan error, 1)
	outstanding := false
	from := time.Now() // silence is counted from max(last read, from)
	due := from.Add(interval)
	tm := time.NewTimer(interval)
	defer tm.Stop()
	for {
		select {
		case <-c.done:
			return
		case err := <-replies:
			outstanding = false
			if err != nil {
				c.fail(fmt.Errorf("keepalive: %w", err))
				return
			}
			continue
		case <-tm.C:
		}
		now := time.Now()
		if now.Sub(due) > interval {
			from = now // this process was not running: start again
		}
		base := from
		if last := c.wire.lastRead(); last.After(base) {
			base = last
		}
		silence := now.Sub(base)
		if silence >= budget {
			c.fail(fmt.Errorf("%w: nothing received for %v (%d × %v unanswered)",
				errKeepalive, silence.Round(time.Millisecond), count, interval))
			return
		}
		if silence >= interval && !outstanding {
			outstanding = true
			go func() {
				replies <- c.ask()
			}()
		}
		// Wake at the next whole interval of silence.
		due = base.Add((silence/interval + 1) * interval)
		tm.Reset(due.Sub(now))
	}
}

// ask sends the host a keepalive@openssh.com request and waits for the
// answer, which a live sshd gives at once, even while its commands
// compute. Until the answer or any other byte arrives, the connection
// counts as asked since the oldest such request (see unansweredSince).
func (c *conn) ask() error {
	now := time.Now().UnixNano()
	for {
		a := c.asked.Load()
		if a > c.wire.last.Load() || c.asked.CompareAndSwap(a, now) {
			break // an older request is unanswered still, or this one is recorded
		}
	}
	_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
	return err
}

// unansweredSince is when ask sent the oldest request that nothing has
// come from the host since; zero when every request has been followed by
// a byte from the host.
func (c *conn) unansweredSince() time.Time {
	a := c.asked.Load()
	if a == 0 || a <= c.wire.last.Load() {
		return time.Time{}
	}
	return time.Unix(0, a)
}

// activityConn is a connection that records when it last read anything.
// It reads through a buffer of its own: x/crypto/ssh reads each packet in
// two reads (4 KiB, then the rest), which without it are two system calls
// per packet.
type activityConn struct {
	net.Conn
	r    *bufio.Reader
	last atomic.Int64 // UnixNano of the last read that returned bytes
}

// readBuffer is activityConn's read buffer: several packets of 32 KiB.
const readBuffer = 256 << 10

func newActivityConn(nc net.Conn) *activityConn {
	a := &activityConn{Conn: nc, r: bufio.NewReaderSize(nc, readBuffer)}
	a.last.Store(time.Now().UnixNano())
	return a
}

func (a *activityConn) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}

func (a *activityConn) lastRead() time.Time { return time.Unix(0, a.last.Load()) }

// dialLimits bounds the handshakes of one Transport in progress at once:
// HandshakeConcurrency per server address, MaxHandshakes in all.
type dialLimits struct {
	all     chan struct{}
	perAddr int

	mu    sync.Mutex
	addrs map[string]*addrSlots
}

type addrSlots struct {
	ch    chan struct{}
	users int // callers holding or waiting for a slot; the entry goes at 0
}

func newDialLimits(total, perAddr int) *dialLimits {
	return &dialLimits{all: make(chan struct{}, total), perAddr: perAddr, addrs: map[string]*addrSlots{}}
}

// acquire waits for a handshake slot for addr, then for one of the total,
// and returns the function that gives both back.
func (l *dialLimits) acquire(ctx context.Context, closing <-chan struct{}, addr string) (func(), error) {
	l.mu.Lock()
	a := l.addrs[addr]
	if a == nil {
		a = &addrSlots{ch: make(chan struct{}, l.perAddr)}
		l.addrs[addr] = a
	}
	a.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if a.users--; a.users == 0 {
			delete(l.addrs, addr)
		}
		l.mu.Unlock()
	}
	wait := func(ch chan struct{}) error {
		select {
		case ch <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-closing:
			return transport.ErrClosed
		}
	}
	if err := wait(a.ch); err != nil {
		leave()
		return nil, err
	}
	if err := wait(l.all); err != nil {
		<-a.ch
		leave()
		return nil, err
	}
	return func() {
		<-l.all
		<-a.ch
		leave()
	}, nil
}

// Handshakes reset by the server (its MaxStartups dropping unauthenticated
// connections, at random once more than its start value are pending) are
// tried again after a jittered backoff that doubles from resetBackoff, up
// to resetTries attempts in all.
const (
	resetTries   = 6
	resetBackoff = 100 * time.Millisecond
)

// dialHop connects to one hop, directly or through via, and authenticates,
// within the Transport's handshake limits. It returns the client and the
// hop's own connection.
func (t *Transport) dialHop(ctx context.Context, h *hostConfig, via *ssh.Client) (*ssh.Client, *activityConn, error) {
	var err error
	for attempt := 0; attempt < resetTries; attempt++ {
		if attempt > 0 {
			d := resetBackoff << (attempt - 1)
			d = d/2 + rand.N(d)
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				return nil, nil, ctx.Err()
			case <-t.closing:
				tm.Stop()
				return nil, nil, transport.ErrClosed
			}
		}
		release, lerr := t.opts.limits.acquire(ctx, t.closing, h.addr())
		if lerr != nil {
			return nil, nil, lerr
		}
		var c *ssh.Client
		var w *activityConn
		var reset bool
		c, w, reset, err = t.dialOnce(ctx, h, via)
		release()
		if err == nil || !reset {
			return c, w, err
		}
	}
	return nil, nil, err
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

func (t *Transport) dialOnce(ctx context.Context, h *hostConfig, via *ssh.Client) (_ *ssh.Client, _ *activityConn, reset bool, _ error) {
	timeout := connectTimeout(&t.opts, h)
	checker, err := newHostKeyChecker(h, t.opts.KnownHostsFiles, t.opts.AcceptNew)
	if err != nil {
		return nil, nil, false, err
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
			return nil, nil, false, ctx.Err()
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, nil, false, fmt.Errorf("%w: %w", transport.ErrUnknownHost, err)
		}
		return nil, nil, false, transport.Lost(err)
	}

	wire := newActivityConn(nc)
	nc = wire

	auth, authDone, err := t.authFor(h)
	if err != nil {
		nc.Close()
		return nil, nil, false, err
	}
	defer authDone()
	algs, err := checker.algorithms()
	if err != nil {
		nc.Close()
		return nil, nil, false, err
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
			return nil, nil, false, ctx.Err()
		}
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, nil, false, err
		}
		if hkErr := checker.hostKeyAlgError(err); hkErr != nil {
			return nil, nil, false, hkErr
		}
		if hctx.Err() != nil {
			return nil, nil, false, transport.Lost(fmt.Errorf("handshake timed out after %v: %w", timeout, err))
		}
		if checker.accepted.Load() && !isConnError(err) {
			// The host proved its identity and then refused every key.
			return nil, nil, false, fmt.Errorf("%w for %s@%s: %w", ErrAuth, h.User, h.addr(), err)
		}
		reset = errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
		return nil, nil, reset, transport.Lost(err)
	}
	if !stopped {
		sc.Close()
		if ctx.Err() != nil {
			return nil, nil, false, ctx.Err()
		}
		return nil, nil, false, transport.Lost(fmt.Errorf("handshake timed out after %v", timeout))
	}
	return ssh.NewClient(sc, chans, reqs), wire, false, nil
}

// isConnError reports whether err is the connection failing (closed,
// reset, timed out) rather than the server's answer.
func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}
