package nodeops_test

import (
	"context"
	"testing"

	"dproc/internal/sshtest"
	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/sshtransport"
	"dproc/transport/transporttest"
)

// sshShellHarness runs the Tree suite on the shell fallback over real sshd
// nodes: the scripts of ShellTree as a remote login shell runs them, with
// the quoting of an SSH command line.
type sshShellHarness struct {
	c *sshtest.Cluster
}

func (h *sshShellHarness) MakeTransport(context.Context) (transport.Transport, error) {
	return sshtransport.New(&sshtransport.Options{ConfigFile: h.c.ConfigFile(), NoAgent: true})
}

func (h *sshShellHarness) Hosts() []string     { return h.c.Hosts() }
func (h *sshShellHarness) UnknownHost() string { return "dproc-no-such-host.invalid" }
func (h *sshShellHarness) Close()              {} // the cluster stops in t.Cleanup

// Tree is ShellTree, not the transport's own Tree: the suite checks the
// fallback here.
func (h *sshShellHarness) Tree(tr transport.Transport) transport.Tree { return nodeops.ShellTree(tr) }

// TestShellTreeConformanceSSH skips without sshd, unless
// DPROC_REQUIRE_SSHD=1 (see sshtest.StartCluster).
func TestShellTreeConformanceSSH(t *testing.T) {
	transporttest.RunTreeTests(t, func(ctx context.Context, t *testing.T) (transporttest.TreeHarness, error) {
		return &sshShellHarness{c: sshtest.StartCluster(t, 2, nil)}, nil
	})
}
