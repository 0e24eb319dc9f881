package nodeops_test

import (
	"context"
	"testing"

	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/transporttest"
)

// shellHarness runs the Tree suite on the shell fallback over local
// processes: a real sh, find and coreutils, in the fast tests.
type shellHarness struct {
	root  string
	hosts []string
}

func (h *shellHarness) MakeTransport(ctx context.Context) (transport.Transport, error) {
	return localtransport.New(h.root, &localtransport.Options{Hosts: h.hosts})
}

func (h *shellHarness) Hosts() []string     { return h.hosts }
func (h *shellHarness) UnknownHost() string { return "no-such-host" }
func (h *shellHarness) Close()              {}

func (h *shellHarness) Tree(tr transport.Transport) transport.Tree { return nodeops.ShellTree(tr) }

func TestShellTreeConformance(t *testing.T) {
	transporttest.RunTreeTests(t, func(ctx context.Context, t *testing.T) (transporttest.TreeHarness, error) {
		return &shellHarness{root: t.TempDir(), hosts: []string{"node1", "node 2"}}, nil
	})
}
