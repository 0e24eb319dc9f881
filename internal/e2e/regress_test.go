package e2e_test

// Regression tests for faults the end-to-end tests found in other packages,
// each kept minimal and naming the function it guards.

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/sshtest"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// TestSshtestKillDropsConnections: sshtest.(*Node).Kill documents that
// connections to the node drop. The per-connection sshd process
// ("sshd: root@notty") must die with the listener, or the client's
// connection, and the commands it carries, go on as if nothing happened.
func TestSshtestKillDropsConnections(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	cfg, err := c.ClientConfig()
	require.NoError(t, err)
	cl, err := ssh.Dial("tcp", c.Node(1).Addr(), cfg)
	require.NoError(t, err)
	defer cl.Close()
	sess, err := cl.NewSession()
	require.NoError(t, err)
	require.NoError(t, sess.Run("true"), "the connection works before the kill")

	require.NoError(t, c.Node(1).Kill())
	dropped := make(chan error, 1)
	go func() { dropped <- cl.Wait() }()
	select {
	case <-dropped:
	case <-time.After(3 * time.Second):
		t.Errorf("the connection to node1 is still open 3s after Node.Kill returned: the per-connection sshd survived")
		cl.Close()
		<-dropped
	}
}

// TestRunCancelOnFrozenHostReturns: sshtransport.(*Transport).Run must
// return soon after its context ends, even when the host has gone silent
// (frozen) and keepalives are off or slow; otherwise a per-attempt timeout
// (dispatch.Options.Timeout) cannot move the chunk of a hung host.
func TestRunCancelOnFrozenHostReturns(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	opts := sshOptions(c, -1) // keepalives off: only the context can end Run
	tr, err := sshtransport.New(opts)
	require.NoError(t, err)
	defer tr.Close()
	nd := c.Node(1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, "node1", &transport.Command{Shell: "sleep 41"}) }()
	waitProcess(t, nd, "sleep 41")
	require.NoError(t, nd.Freeze())
	cancel()
	select {
	case err := <-done:
		assert.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Errorf("Run still blocked 10s after its context was cancelled on a frozen host")
		assert.NoError(t, nd.Thaw())
		<-done
	}
	assert.NoError(t, nd.Thaw())
}

// TestRefusedHostKeyFailsRun: a host whose key is refused (changed, in
// known_hosts) must fail the run with the key error (issue 3: "A refused
// host key fails the run with the key error"), not be marked down while the
// other hosts finish the job. Without setup files the first attempt on the
// host fails the run; with setup files (as examples/cluster has) the failed
// install must do the same.
func TestRefusedHostKeyFailsRun(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	cfg := configWithKnownHosts(t, c, wrongKnownHosts(t, c))
	tests := []struct {
		name  string
		setup []transport.File
	}{
		{"no-setup", nil},
		{"setup", []transport.File{{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\n" + upperShell + "\n")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := sshOptions(c, 0)
			opts.ConfigFile = cfg
			tr, err := sshtransport.New(opts)
			require.NoError(t, err)
			defer tr.Close()
			d, err := dispatch.New(tr, c.Hosts(), nil)
			require.NoError(t, err)
			data := textData(64 << 10)
			var out bytes.Buffer
			job := &dispatch.Job{Shell: upperShell, Setup: tt.setup}
			_, err = d.Run(context.Background(), job,
				split.Blocks(bytes.NewReader(data), int64(len(data)), 4<<10, nil), gather.Ordered(&out, nil), nil)
			require.Error(t, err, "the run succeeded without node1, whose host key was refused")
			assert.ErrorIs(t, err, sshtransport.ErrHostKeyChanged)
		})
	}
}
