package sshtransport_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// countIn returns how many lines of the node's sshd log contain s.
func countIn(nd *sshtest.Node, s string) int {
	return strings.Count(nd.LogTail(1<<24), s)
}

// TestStockManySlots runs 30 commands at once on each of 3 stock sshd nodes
// (MaxSessions 10, MaxStartups 10:30:100) with default options: all of them
// succeed with their own output, each node gets the 4 connections that 30
// commands need at 9 per connection, and no handshake is dropped.
func TestStockManySlots(t *testing.T) {
	const perHost = 30
	c := sshtest.StartCluster(t, 3, &sshtest.Options{Stock: true})
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, host := range c.Hosts() {
		for i := range perHost {
			wg.Go(func() {
				want := fmt.Sprintf("%s %d\n", host, i)
				// The sleep keeps all 30 open at once.
				out, err := run(ctx, tr, host, fmt.Sprintf("sleep 1; echo %s %d", host, i))
				assert.NoError(t, err, want)
				assert.Equal(t, want, out)
			})
		}
	}
	wg.Wait()
	for _, nd := range c.Nodes() {
		assert.GreaterOrEqual(t, countIn(nd, "Accepted publickey"), 4, nd.Name())
		assert.Zero(t, countIn(nd, "past MaxStartups"), nd.Name())
	}
}

// TestStockManyHosts dials 16 stock nodes at once, two connections each,
// through a Transport that allows 8 handshakes at a time: the dials go in
// waves, and every command on every host succeeds.
func TestStockManyHosts(t *testing.T) {
	c := sshtest.StartCluster(t, 16, &sshtest.Options{Stock: true, LogLevel: "INFO"})
	tr := newTransport(t, c.ConfigFile(), &sshtransport.Options{MaxHandshakes: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, host := range c.Hosts() {
		for i := range 10 {
			wg.Go(func() {
				want := fmt.Sprintf("%s %d\n", host, i)
				out, err := run(ctx, tr, host, fmt.Sprintf("sleep 0.3; echo %s %d", host, i))
				assert.NoError(t, err, want)
				assert.Equal(t, want, out)
			})
		}
	}
	wg.Wait()
}

// TestStockFirstConnectionsOneServer starts 120 commands at once, through 10
// aliases of one stock sshd node, on a Transport that has no connection
// yet: a dozen connections are dialled at once, yet the handshake limit,
// which is per server address and not per host string, keeps every one
// of them below MaxStartups, and every command succeeds.
func TestStockFirstConnectionsOneServer(t *testing.T) {
	const aliases, perAlias = 10, 12
	c := sshtest.StartCluster(t, 1, &sshtest.Options{Stock: true})
	nd := c.Node(1)
	var entries []entry
	var hosts []string
	for i := range aliases {
		hosts = append(hosts, fmt.Sprintf("alias%d", i))
		entries = append(entries, entry{name: hosts[i], addr: nd.Addr()})
	}
	cfg := writeConfig(t, c, c.KnownHostsFile(), entries...)
	tr := newTransport(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, host := range hosts {
		for i := range perAlias {
			wg.Go(func() {
				<-start
				want := fmt.Sprintf("%s %d\n", host, i)
				out, err := run(ctx, tr, host, fmt.Sprintf("sleep 0.5; echo %s %d", host, i))
				assert.NoError(t, err, want)
				assert.Equal(t, want, out)
			})
		}
	}
	close(start)
	wg.Wait()
	assert.GreaterOrEqual(t, countIn(nd, "Accepted publickey"), aliases*2)
	assert.Zero(t, countIn(nd, "past MaxStartups"))
}

// silentServers starts n TCP listeners that accept connections and never
// send a byte, so a handshake with them stays in progress, and writes an
// ssh_config with hosts s0 … s(n-1) for them. It returns the config file and
// a function that reports the most connections that were open at once
// across all listeners.
func silentServers(t *testing.T, n int, sameAddr bool) (string, func() int) {
	t.Helper()
	var open, peak atomic.Int32
	var lns []net.Listener
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	var b strings.Builder
	for i := range n {
		if i == 0 || !sameAddr {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			lns = append(lns, ln)
			wg.Go(func() {
				for {
					nc, err := ln.Accept()
					if err != nil {
						return
					}
					mu.Lock()
					conns = append(conns, nc)
					mu.Unlock()
					now := open.Add(1)
					for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
					}
					wg.Go(func() {
						io.Copy(io.Discard, nc) // until the client gives up
						open.Add(-1)
					})
				}
			})
		}
		_, port, _ := net.SplitHostPort(lns[len(lns)-1].Addr().String())
		fmt.Fprintf(&b, "Host s%d\n  HostName 127.0.0.1\n  Port %s\n  User u\n  UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile none\n", i, port)
	}
	p := filepath.Join(t.TempDir(), "ssh_config")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p, func() int { return int(peak.Load()) }
}

func testSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

// TestLowServerMaxSessions runs 30 commands at once on a server that
// allows 3 sessions per connection, with a Transport that believes 10: the
// refusals teach the host's limit, new connections are dialled at it, and
// no command fails.
func TestLowServerMaxSessions(t *testing.T) {
	c := sshtest.StartCluster(t, 1, &sshtest.Options{MaxSessions: 3})
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			out, err := run(ctx, tr, "node1", fmt.Sprintf("sleep 0.5; echo %d", i))
			assert.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("%d\n", i), out)
		})
	}
	wg.Wait()
}

// TestHandshakeLimits dials many hosts whose servers never answer and
// counts the connections open at once: MaxHandshakes bounds them across
// hosts, HandshakeConcurrency for hosts that are one server address.
func TestHandshakeLimits(t *testing.T) {
	tests := []struct {
		name     string
		hosts    int
		sameAddr bool
		opts     sshtransport.Options
		want     int
	}{
		{name: "overall", hosts: 12, opts: sshtransport.Options{MaxHandshakes: 3}, want: 3},
		{name: "per server address", hosts: 6, sameAddr: true, opts: sshtransport.Options{HandshakeConcurrency: 2}, want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, peak := silentServers(t, tc.hosts, tc.sameAddr)
			o := tc.opts
			o.Signers = []ssh.Signer{testSigner(t)}
			tr := newTransport(t, cfg, &o)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := range tc.hosts {
				wg.Go(func() {
					err := tr.Run(ctx, fmt.Sprintf("s%d", i), &transport.Command{Shell: "true"})
					assert.ErrorIs(t, err, context.Canceled)
				})
			}
			require.Eventually(t, func() bool { return peak() >= tc.want }, 10*time.Second, 10*time.Millisecond)
			// Every other dial is waiting for a slot: give them time to
			// show if they were not.
			time.Sleep(300 * time.Millisecond)
			assert.Equal(t, tc.want, peak())
			cancel()
			wg.Wait()
		})
	}
}

// TestKeepaliveDefaultsFrozenHost freezes a node under a running command
// with no keepalive option and no ServerAlive* in the config: the command
// fails with ErrLost within the documented bound, (CountMax+1) × Interval
// after the last byte from the host, plus slack for a loaded machine.
func TestKeepaliveDefaultsFrozenHost(t *testing.T) {
	c := sshtest.StartCluster(t, 1, &sshtest.Options{Stock: true})
	nd := c.Node(1)
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, err := run(ctx, tr, "node1", "sleep 47")
		res <- err
	}()
	waitProcess(t, nd, "sleep 47")
	require.NoError(t, nd.Freeze())
	t.Cleanup(func() { nd.Thaw() })
	frozen := time.Now()
	bound := time.Duration(sshtransport.DefaultKeepaliveCountMax+1) * sshtransport.DefaultKeepaliveInterval
	select {
	case err := <-res:
		took := time.Since(frozen)
		require.ErrorIs(t, err, transport.ErrLost)
		assert.Contains(t, err.Error(), "nothing received for")
		assert.Less(t, took, bound+2*time.Second, "lost after %v", took)
		t.Logf("frozen host lost after %v (bound %v)", took, bound)
	case <-time.After(bound + 10*time.Second):
		t.Fatalf("Run still running %v after the freeze", bound+10*time.Second)
	}
}

// BenchmarkKeepaliveReplyUnderLoad measures how long a loaded machine takes
// to answer a keepalive on a connection that is otherwise idle, the only
// kind that is probed: 30 commands per node on 3 stock nodes burn CPU (and
// stream output when the sub-benchmark says so) on one Transport, while a
// second Transport's connections to the same nodes are timed with Ping
// (the keepalive request itself). It reports the slowest answer
// ("max-ms") and the 99th percentile ("p99-ms"), to compare with the
// DefaultKeepaliveCountMax × DefaultKeepaliveInterval a silent connection
// has to answer in.
func BenchmarkKeepaliveReplyUnderLoad(b *testing.B) {
	for _, bc := range []struct{ name, load string }{
		{"cpu", "head -c 20000000 /dev/urandom | gzip -1 | sha256sum"},
		{"cpu+output", "head -c 20000000 /dev/urandom | gzip -1 | tee /dev/stderr | sha256sum"},
	} {
		b.Run(bc.name, func(b *testing.B) { benchKeepaliveReply(b, bc.load) })
	}
}

func benchKeepaliveReply(b *testing.B, load string) {
	c := sshtest.StartCluster(b, 3, &sshtest.Options{Stock: true})
	busy := newTransportTB(b, c.ConfigFile())
	probe := newTransportTB(b, c.ConfigFile())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var loadWG sync.WaitGroup
	for _, host := range c.Hosts() {
		require.NoError(b, probe.Ping(ctx, host))
		for range 30 {
			loadWG.Go(func() {
				for ctx.Err() == nil {
					busy.Run(ctx, host, &transport.Command{Shell: load, Stdout: io.Discard, Stderr: io.Discard})
				}
			})
		}
	}
	time.Sleep(time.Second) // let the load build up
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		deadline := time.Now().Add(5 * time.Second)
		for _, host := range c.Hosts() {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := probe.Ping(ctx, host); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	cancel()
	loadWG.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(lat)), "probes")
	}
}
