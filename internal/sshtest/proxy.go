package sshtest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 that forwards every connection to one
// target, for fault tests: it can cut all connections mid-stream or stop
// forwarding bytes (a silent network). Its methods are safe for concurrent
// use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   map[net.Conn]struct{} // both ends of every forwarded connection
	open    chan struct{}         // closed while forwarding; open while paused
	closed  bool
	refuse  bool
	wg      sync.WaitGroup
	accepts int
}

// NewProxy starts a proxy to target ("host:port") for tb and closes it in
// tb.Cleanup. It calls tb.Fatal if it cannot listen.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := StartProxy(target)
	if err != nil {
		tb.Fatalf("sshtest.NewProxy: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// StartProxy starts a proxy to target ("host:port") on a free port of
// 127.0.0.1. The caller must call [Proxy.Close].
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{}), open: open}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the proxy's listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Accepted returns how many connections the proxy has accepted so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepts
}

// CutAll closes every connection the proxy is forwarding, both towards the
// client and towards the target, as if the network between them died with
// a reset. New connections are still accepted.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // send RST, not FIN
		}
		_ = c.Close()
		delete(p.conns, c)
	}
}

// SetRefuse makes the proxy close new connections at once (refuse true) or
// forward them again (false), like a host whose port is closed.
func (p *Proxy) SetRefuse(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = refuse
}

// Pause stops forwarding bytes in both directions on every connection, open
// or new, without closing anything: a silent network. Bytes already read
// are held and delivered after [Proxy.Resume].
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // already paused
	}
}

// Resume undoes [Proxy.Pause].
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Close stops accepting, cuts every connection and waits for the proxy's
// goroutines to end. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.CutAll()
	p.Resume() // release copiers waiting at the gate
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		p.accepts++
		refuse := p.refuse || p.closed
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve dials the target for the accepted conn a and copies both ways.
func (p *Proxy) serve(a net.Conn) {
	defer p.wg.Done()
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		a.Close()
		return
	}
	if !p.track(a, b) {
		a.Close()
		b.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(b, a) }()
	go func() { defer wg.Done(); p.pipe(a, b) }()
	wg.Wait()
	p.untrack(a, b)
	a.Close()
	b.Close()
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// gate blocks while the proxy is paused.
func (p *Proxy) gate() {
	p.mu.Lock()
	ch := p.open
	p.mu.Unlock()
	<-ch
}

// pipe copies src to dst through the pause gate. When src ends it
// half-closes dst, so EOF travels through; on any error it closes both.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		p.gate()
		n, rerr := src.Read(buf)
		if n > 0 {
			p.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				dst.Close()
				return
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					return
				}
			}
			src.Close()
			dst.Close()
			return
		}
	}
}
