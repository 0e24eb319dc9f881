// Package nodeflags gives the example programs one way to name their nodes:
// -nodes a,b,c with -ssh-config FILE for SSH hosts, or three local nodes
// (directories under a temporary root) when -nodes is not given.
//
// The temporary root is made by [localtransport.MkdirTemp] in the system's
// temporary directory ($TMPDIR) with the prefix [TempPrefix], and removed by
// [Nodes.Close]. A program killed before Close (SIGKILL) leaves it; the next
// program that opens local nodes removes it, along with any other root left
// by a program that has ended. A -root given by the user is never removed.
// The local nodes' commands die with the program (see localtransport).
package nodeflags

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/sshtransport"
)

// TempPrefix begins the name of the temporary root of local nodes.
const TempPrefix = "dproc-nodes-"

// DefaultNodes are the local nodes used when -nodes is not given.
var DefaultNodes = []string{"node1", "node2", "node3"}

// Flags holds the node flags of an example program.
type Flags struct {
	nodes     string
	sshConfig string
	root      string
	local     bool
	acceptNew bool
}

// Register adds -nodes, -ssh-config, -local, -accept-new and -root to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.nodes, "nodes", "", "comma-separated SSH hosts: aliases from ~/.ssh/config or -ssh-config, or [user@]host[:port]\n(default: node1,node2,node3 as local nodes)")
	fs.StringVar(&f.sshConfig, "ssh-config", "", "ssh_config file for -nodes (default: ~/.ssh/config)")
	fs.BoolVar(&f.local, "local", false, "treat -nodes as local nodes (directories under -root), not SSH hosts")
	fs.BoolVar(&f.acceptNew, "accept-new", false, "trust and record the host key of a host seen for the first time (a changed key is always refused)")
	fs.StringVar(&f.root, "root", "", "directory holding local nodes (default: a temporary directory, removed at exit)")
	return f
}

// Nodes is an open transport and the hosts to use with it.
type Nodes struct {
	Transport transport.Transport
	Hosts     []string
	Local     bool   // whether the hosts are local directories
	Root      string // the local nodes' root, when Local
	cleanup   func()
}

// Close closes the transport and removes a temporary root.
func (n *Nodes) Close() error {
	err := n.Transport.Close()
	if n.cleanup != nil {
		n.cleanup()
	}
	return err
}

// Open opens the transport the flags name.
func (f *Flags) Open() (*Nodes, error) {
	var hosts []string
	for _, h := range strings.Split(f.nodes, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if f.nodes != "" && len(hosts) == 0 {
		return nil, errors.New("-nodes names no node")
	}
	if len(hosts) > 0 && !f.local {
		t, err := sshtransport.New(&sshtransport.Options{ConfigFile: f.sshConfig, AcceptNew: f.acceptNew})
		if err != nil {
			return nil, err
		}
		return &Nodes{Transport: t, Hosts: hosts}, nil
	}
	if f.sshConfig != "" {
		return nil, errors.New("-ssh-config needs -nodes")
	}
	if len(hosts) == 0 {
		hosts = DefaultNodes
	}
	n := &Nodes{Hosts: hosts, Local: true, Root: f.root}
	if n.Root == "" {
		dir, err := localtransport.MkdirTemp("", TempPrefix)
		if err != nil {
			return nil, err
		}
		n.Root = dir
		n.cleanup = func() { os.RemoveAll(dir) }
	}
	t, err := localtransport.New(n.Root, &localtransport.Options{Hosts: hosts})
	if err != nil {
		if n.cleanup != nil {
			n.cleanup()
		}
		return nil, fmt.Errorf("local nodes under %s: %w", n.Root, err)
	}
	n.Transport = t
	return n, nil
}
