package sshtransport_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
	"dproc/transport/transporttest"
)

// harness runs the conformance suite on a three-node sshtest cluster,
// reached through its ssh_config aliases and known_hosts, with three more
// aliases: one where nothing listens (lost), one whose host key no file
// knows and one whose login fails (both refused).
type harness struct {
	c      *sshtest.Cluster
	cfg    string
	perCmd bool // Options.SessionPerCommand
}

// newHarness starts the cluster and writes the harness's ssh_config: the
// cluster's entries and the three extra aliases.
func newHarness(t *testing.T, n int, opts *sshtest.Options) (*harness, error) {
	c := sshtest.StartCluster(t, n, opts)
	base, err := os.ReadFile(c.ConfigFile())
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	// A port where nothing listens: taken, then given back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	noKeys := filepath.Join(dir, "known_hosts_empty")
	if err := os.WriteFile(noKeys, nil, 0o600); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	otherKey := filepath.Join(dir, "id_other")
	if err := os.WriteFile(otherKey, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	b := bytes.NewBuffer(base)
	entry := func(name string, port int, identity, knownHosts string) {
		fmt.Fprintf(b, "\nHost %s\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
			"  UserKnownHostsFile %s\n  GlobalKnownHostsFile none\n  StrictHostKeyChecking yes\n", name, port, c.User(), identity, knownHosts)
	}
	node1 := c.Node(1).Port()
	entry("dproc-lost", closed, c.IdentityFile(), c.KnownHostsFile())
	entry("dproc-stranger", node1, c.IdentityFile(), noKeys)
	entry("dproc-badlogin", node1, otherKey, c.KnownHostsFile())
	h := &harness{c: c, cfg: filepath.Join(dir, "ssh_config")}
	return h, os.WriteFile(h.cfg, b.Bytes(), 0o600)
}

func (h *harness) MakeTransport(context.Context) (transport.Transport, error) {
	return sshtransport.New(&sshtransport.Options{ConfigFile: h.cfg, NoAgent: true, SessionPerCommand: h.perCmd})
}

func (h *harness) Hosts() []string        { return h.c.Hosts() }
func (h *harness) UnknownHost() string    { return "dproc-no-such-host.invalid" }
func (h *harness) LostHost() string       { return "dproc-lost" }
func (h *harness) RefusedHosts() []string { return []string{"dproc-stranger", "dproc-badlogin"} }
func (h *harness) Close()                 {} // the cluster stops in t.Cleanup

var (
	_ transporttest.LostHoster    = (*harness)(nil)
	_ transporttest.RefusedHoster = (*harness)(nil)
)

func TestConformance(t *testing.T) {
	transporttest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (transporttest.Harness, error) {
		return newHarness(t, 3, nil)
	})
}

// TestConformanceSessionPerCommand runs the suite with
// Options.SessionPerCommand.
func TestConformanceSessionPerCommand(t *testing.T) {
	transporttest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (transporttest.Harness, error) {
		h, err := newHarness(t, 2, nil)
		if h != nil {
			h.perCmd = true
		}
		return h, err
	})
}

// TestConformanceNoSFTP runs the suite on nodes whose sftp subsystem is
// broken, so files move through the cat fallback.
func TestConformanceNoSFTP(t *testing.T) {
	transporttest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (transporttest.Harness, error) {
		broken := filepath.Join(t.TempDir(), "no-sftp-server")
		if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			return nil, err
		}
		return newHarness(t, 2, &sshtest.Options{SftpServer: broken})
	})
}
