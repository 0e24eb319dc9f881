package sshtransport

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func testPool(t *testing.T, o Options) *hostPool {
	t.Helper()
	tr := &Transport{opts: o.withDefaults(), closing: make(chan struct{}), hosts: map[string]*hostPool{}}
	return tr.pool("h")
}

// TestLowerLimit pins what a refused session open teaches: the sessions
// still open on the connection, less the channel SFTP will want while it is
// not running, never below one, never raised; and new connections to the
// host start at the lowest limit learnt.
func TestLowerLimit(t *testing.T) {
	tests := []struct {
		name      string
		limit     int // the connection's limit before
		busy      int // sessions open besides the refused one
		sftp      bool
		noSFTP    bool
		hostLimit int // learnt before, 0 for none
		want      int
		wantHost  int
	}{
		{name: "SFTP not started keeps its channel", limit: 9, busy: 5, want: 4, wantHost: 4},
		{name: "SFTP running", limit: 9, busy: 5, sftp: true, want: 5, wantHost: 5},
		{name: "no SFTP on the host", limit: 9, busy: 5, noSFTP: true, want: 5, wantHost: 5},
		{name: "nothing open", limit: 9, busy: 0, want: 1, wantHost: 1},
		{name: "never raised", limit: 2, busy: 6, sftp: true, want: 2, wantHost: 6},
		{name: "host keeps its lowest", limit: 9, busy: 7, sftp: true, hostLimit: 3, want: 7, wantHost: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPool(t, Options{})
			p.limit = tc.hostLimit
			c := &conn{p: p, limit: tc.limit, busy: tc.busy, noSFTP: tc.noSFTP}
			if tc.sftp {
				c.sftp = &sftp.Client{}
			}
			p.lowerLimit(c)
			assert.Equal(t, tc.want, c.limit, "connection")
			assert.Equal(t, tc.wantHost, p.limit, "host")
			assert.Equal(t, min(tc.wantHost, DefaultMaxSessions-1), p.perConn(), "new connections")
		})
	}
}

// keepaliveServer is an in-process SSH server that never answers a
// keepalive request and, while trickle is set, sends the client a global
// request (which needs no answer) every 50 ms: traffic, but no answer.
type keepaliveServer struct {
	addr    string
	trickle atomic.Bool
}

func startKeepaliveServer(t *testing.T) *keepaliveServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hk, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(hk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &keepaliveServer{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close(); wg.Wait() })
	wg.Go(func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
		if err != nil {
			return
		}
		defer sc.Close()
		wg.Go(func() {
			for ch := range chans {
				ch.Reject(ssh.Prohibited, "no channels")
			}
		})
		var held []*ssh.Request
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case r, ok := <-reqs:
				if !ok {
					return
				}
				held = append(held, r) // never answered
			case <-tk.C:
				if s.trickle.Load() {
					sc.SendRequest("trickle@test", false, nil)
				}
			case <-stop:
				return
			}
		}
	})
	return s
}

// dialTestConn connects to s as the pool would, with the read clock.
func dialTestConn(t *testing.T, p *hostPool, s *keepaliveServer) *conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	wire := newActivityConn(nc)
	sc, chans, reqs, err := ssh.NewClientConn(wire, s.addr, &ssh.ClientConfig{User: "u", HostKeyCallback: func(string, net.Addr, ssh.PublicKey) error { return nil }})
	require.NoError(t, err)
	c := &conn{p: p, client: ssh.NewClient(sc, chans, reqs), wire: wire, limit: 1, done: make(chan struct{})}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	t.Cleanup(func() { c.fail(errors.New("test over")) })
	return c
}

// TestKeepaliveSilence pins what the keepalive counts: silence, not
// answers. A server that answers no keepalive but keeps sending keeps its
// connection; once it falls silent, the connection is closed after
// (count+1) intervals with errKeepalive.
func TestKeepaliveSilence(t *testing.T) {
	const interval, count = 100 * time.Millisecond, 2
	p := testPool(t, Options{})
	s := startKeepaliveServer(t)
	s.trickle.Store(true)
	c := dialTestConn(t, p, s)
	var wg sync.WaitGroup
	wg.Go(func() { c.keepalive(interval, count) })
	defer wg.Wait()

	time.Sleep(5 * (count + 1) * interval)
	if !c.alive() {
		// c.err is read only once done is closed: it is written
		// before, by the keepalive's goroutine.
		t.Fatalf("closed while traffic flowed: %v", c.err)
	}

	s.trickle.Store(false)
	quiet := time.Now()
	select {
	case <-c.done:
		took := time.Since(quiet)
		assert.ErrorIs(t, c.err, errKeepalive)
		assert.GreaterOrEqual(t, took, (count+1)*interval-60*time.Millisecond, "closed before the silence bound")
	case <-time.After(5 * time.Second):
		t.Fatal("a silent connection was kept")
	}
}
