package sshtest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// echoServer accepts connections on 127.0.0.1 and echoes every byte back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dialProxy(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip writes line and reads one line back within d.
func roundTrip(c net.Conn, r *bufio.Reader, line string, d time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	return got, err
}

func TestProxyForwardsAndCuts(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	assert.Equal(t, "127.0.0.1", p.Addr()[:len("127.0.0.1")])
	c1, r1 := dialProxy(t, p)
	c2, r2 := dialProxy(t, p)
	for _, cr := range []struct {
		c net.Conn
		r *bufio.Reader
	}{{c1, r1}, {c2, r2}} {
		got, err := roundTrip(cr.c, cr.r, "ping", 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "ping\n", got)
	}

	p.CutAll()
	for _, c := range []net.Conn{c1, c2} {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err := c.Read(make([]byte, 1))
		require.Error(t, err, "a cut connection ends")
		var ne net.Error
		assert.False(t, errors.As(err, &ne) && ne.Timeout(), "ended, not timed out: %v", err)
	}

	// New connections still work after a cut.
	c3, r3 := dialProxy(t, p)
	got, err := roundTrip(c3, r3, "again", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "again\n", got)
	assert.Equal(t, 3, p.Accepted())
}

func TestProxyPauseResume(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c, r := dialProxy(t, p)
	got, err := roundTrip(c, r, "one", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "one\n", got)

	p.Pause()
	p.Pause() // idempotent
	_, err = roundTrip(c, r, "two", 200*time.Millisecond)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "a paused proxy is silent")

	p.Resume()
	p.Resume() // idempotent
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	got, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "two\n", got, "held bytes arrive after Resume")
}

func TestProxyRefuseAndClose(t *testing.T) {
	p, err := StartProxy(echoServer(t))
	require.NoError(t, err)
	p.SetRefuse(true)
	c, r := dialProxy(t, p)
	_, err = roundTrip(c, r, "x", 5*time.Second)
	require.Error(t, err)
	p.SetRefuse(false)
	c2, r2 := dialProxy(t, p)
	got, err := roundTrip(c2, r2, "y", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "y\n", got)

	p.Pause()
	require.NoError(t, p.Close(), "Close returns even while paused")
	require.NoError(t, p.Close(), "Close twice")
	_, err = roundTrip(c2, r2, "z", 5*time.Second)
	require.Error(t, err)
	_, err = net.DialTimeout("tcp", p.Addr(), time.Second)
	require.Error(t, err)
}

// TestProxySSH runs a real SSH session through the proxy and cuts it.
func TestProxySSH(t *testing.T) {
	c := StartCluster(t, 1, nil)
	p := NewProxy(t, c.Node(1).Addr())
	require.NoError(t, c.AddAlias("node1-proxy", p.Addr(), c.Node(1)))
	cl := goClient(t, c, p.Addr())
	out, err := runOut(cl, "pwd")
	require.NoError(t, err)
	assert.Equal(t, c.Node(1).Home()+"\n", out)

	s, err := cl.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Start("exec sleep 34"))
	waitProcs(t, c.Node(1), "sleep 34", 1)
	p.CutAll()
	err = s.Wait()
	require.Error(t, err)
	var ee *ssh.ExitError
	assert.False(t, errors.As(err, &ee), "a cut is not an exit status: %v", err)
	_, err = runOut(cl, "true")
	assert.Error(t, err, "the client connection is gone")
}
