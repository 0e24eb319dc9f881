package sshtransport_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
	"dproc/transport/transporttest"
)

// harness runs the conformance suite on a three-node sshtest cluster,
// reached through its ssh_config aliases and known_hosts.
type harness struct {
	c *sshtest.Cluster
}

func (h *harness) MakeTransport(context.Context) (transport.Transport, error) {
	return sshtransport.New(&sshtransport.Options{ConfigFile: h.c.ConfigFile(), NoAgent: true})
}

func (h *harness) Hosts() []string     { return h.c.Hosts() }
func (h *harness) UnknownHost() string { return "dproc-no-such-host.invalid" }
func (h *harness) Close()              {} // the cluster stops in t.Cleanup

func TestConformance(t *testing.T) {
	transporttest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (transporttest.Harness, error) {
		return &harness{c: sshtest.StartCluster(t, 3, nil)}, nil
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
		return &harness{c: sshtest.StartCluster(t, 2, &sshtest.Options{SftpServer: broken})}, nil
	})
}
