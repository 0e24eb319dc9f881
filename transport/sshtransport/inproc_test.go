package sshtransport_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"dproc/transport"
	"dproc/transport/sshtransport"
)

// startBrokenServer starts an in-process SSH server whose exec sessions
// write "partial\n" and close without an exit status, a fault real sshd
// does not produce on demand. It trusts client and returns the address.
func startBrokenServer(t *testing.T, client ssh.PublicKey) (addr string, hostKey ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hk, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(client.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveBroken(nc, cfg) })
		}
	})
	return ln.Addr().String(), hk.PublicKey()
}

func serveBroken(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range creqs {
				req.Reply(req.Type == "exec", nil)
				if req.Type == "exec" {
					fmt.Fprint(ch, "partial\n")
					ch.Close() // no exit-status
				}
			}
		}()
	}
}

func TestMissingExitStatusIsLost(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	addr, hostKey := startBrokenServer(t, signer.PublicKey())

	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey)+"\n"), 0o600))
	host, port, _ := net.SplitHostPort(addr)
	cfg := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf("Host broken\n  HostName %s\n  Port %s\n  UserKnownHostsFile %s\n", host, port, kh)), 0o600))

	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: cfg, NoAgent: true, Signers: []ssh.Signer{signer}})
	require.NoError(t, err)
	defer tr.Close()
	out, err := run(context.Background(), tr, "broken", "echo whatever")
	assert.Equal(t, "partial\n", out)
	require.ErrorIs(t, err, transport.ErrLost)
	assert.True(t, transport.IsLost(err))
	assert.Contains(t, err.Error(), "no exit status")
}
