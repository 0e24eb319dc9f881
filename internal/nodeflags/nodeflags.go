// Package nodeflags gives dproc's command and the example programs one way to
// name their nodes: host lists as pdsh, ClusterShell and GNU parallel users
// write them (node sets such as "node[1-3,7]", "[N/][user@]host[:port]"),
// hostfiles, exclusions, an ssh_config file for SSH hosts, or three local
// nodes (directories under a temporary root) when no host is given. Parsing
// is dproc/internal/hostsel's; this package turns a selection into an open
// transport.
//
// The flags are the fields of [Flags], so that any flag package can bind them:
// [Register] binds them to a standard library flag.FlagSet under the example
// programs' names (-nodes, -x, -hostfile, -ssh-config, -local, -accept-new,
// -root), and cmd/dproc binds the same fields to its own flags (-w/--hosts,
// ...). [List] is a repeatable string flag value that satisfies both the
// standard library's flag.Value and the Type method other flag packages ask
// for.
//
// The temporary root is made by [localtransport.MkdirTemp] in the system's
// temporary directory ($TMPDIR) with the prefix [TempPrefix], and removed by
// [Nodes.Close]. A program killed before Close (SIGKILL) leaves it; the next
// program that opens local nodes removes it, along with any other root left
// by a program that has ended. A -root given by the user is never removed.
// The local nodes' commands die with the program (see localtransport).
//
// Choices: local nodes take host names and N/ slots but no user or port (a
// directory has neither), and an exclusion that leaves no default local
// node is an error, as for SSH hosts.
package nodeflags

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"dproc/internal/hostsel"
	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/sshtransport"
)

// TempPrefix begins the name of the temporary root of local nodes.
const TempPrefix = "dproc-nodes-"

// DefaultNodes are the local nodes used when no host is given.
var DefaultNodes = []string{"node1", "node2", "node3"}

// ErrUsage is wrapped by the errors of Open about the flags themselves (a
// host list that does not parse, -ssh-config without SSH hosts), as opposed
// to the errors of opening a transport.
var ErrUsage = errors.New("bad node flags")

// List is a string list flag: each use of the flag appends its value.
type List []string

// String returns the values joined by commas.
func (l *List) String() string { return strings.Join(*l, ",") }

// Set appends v.
func (l *List) Set(v string) error { *l = append(*l, v); return nil }

// Type names the value's type in usage texts of flag packages that ask.
func (l *List) Type() string { return "list" }

// SessionUsage is the usage text of the flag that sets
// Flags.SessionPerCommand.
const SessionUsage = "give every command its own SSH session instead of running a host's commands one after another in long-lived sessions (see sshtransport's SessionPerCommand)"

// Flags holds the node flags of a program.
type Flags struct {
	Hosts     List   // host lists, each read by hostsel.Parse
	Hostfiles List   // hostfiles, each read by hostsel.ReadHostfile
	Exclude   List   // exclusions, each read by hostsel.ParseExclude
	SSHConfig string // ssh_config file for SSH hosts
	AcceptNew bool   // record the key of a host seen for the first time
	PerCmd    bool   // sshtransport.Options.SessionPerCommand
	Local     bool   // the hosts are local nodes, not SSH hosts
	Root      string // the local nodes' root; "" for a temporary one
}

// Register adds -nodes, -x, -hostfile, -ssh-config, -local, -accept-new,
// -session-per-command and -root to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.Var(&f.Hosts, "nodes", "SSH hosts as node sets, [N/][user@]host[:port] items separated by commas: aliases from ~/.ssh/config or -ssh-config\n(default: node1,node2,node3 as local nodes)")
	fs.Var(&f.Exclude, "x", "hosts to exclude: node sets or patterns with * and ?")
	fs.Var(&f.Hostfiles, "hostfile", "file of hosts, one [N/][user@]host[:port] per line, # comments")
	fs.StringVar(&f.SSHConfig, "ssh-config", "", "ssh_config file for -nodes (default: ~/.ssh/config)")
	fs.BoolVar(&f.Local, "local", false, "treat -nodes as local nodes (directories under -root), not SSH hosts")
	fs.BoolVar(&f.AcceptNew, "accept-new", false, "trust and record the host key of a host seen for the first time (a changed key is always refused)")
	fs.BoolVar(&f.PerCmd, "session-per-command", false, SessionUsage)
	fs.StringVar(&f.Root, "root", "", "directory holding local nodes (default: a temporary directory, removed at exit)")
	return f
}

// Select returns the hosts the flags name (nil when none is named), read with
// hostsel.Select. Its errors wrap ErrUsage.
func (f *Flags) Select() ([]hostsel.Host, error) {
	hosts, err := hostsel.Select(hostsel.Options{Hosts: f.Hosts, Hostfiles: f.Hostfiles, Exclude: f.Exclude})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return hosts, nil
}

// Nodes is an open transport and the hosts to use with it.
type Nodes struct {
	Transport transport.Transport
	Hosts     []string                // host strings for the transport, in order
	Slots     map[string]int          // slots written with N/, by host string; nil when none
	Local     bool                    // whether the hosts are local directories
	Root      string                  // the local nodes' root, when Local
	SSH       *sshtransport.Transport // the SSH transport, when not Local
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

// Open opens the transport the flags name: SSH hosts when hosts are given
// (and Local is not set), local nodes otherwise.
func (f *Flags) Open() (*Nodes, error) {
	sel, err := f.Select()
	if err != nil {
		return nil, err
	}
	named := len(f.Hosts) > 0 || len(f.Hostfiles) > 0
	if named && !f.Local {
		n := &Nodes{}
		for _, h := range sel {
			login := h.Login()
			n.Hosts = append(n.Hosts, login)
			if h.Slots > 0 {
				if n.Slots == nil {
					n.Slots = map[string]int{}
				}
				n.Slots[login] = h.Slots
			}
		}
		t, err := sshtransport.New(&sshtransport.Options{ConfigFile: f.SSHConfig, AcceptNew: f.AcceptNew, SessionPerCommand: f.PerCmd})
		if err != nil {
			return nil, err
		}
		n.Transport, n.SSH = t, t
		return n, nil
	}
	if f.SSHConfig != "" {
		return nil, fmt.Errorf("%w: --ssh-config needs SSH hosts", ErrUsage)
	}
	var hosts []string
	var slots map[string]int
	if named {
		for _, h := range sel {
			if h.User != "" || h.Port != 0 {
				return nil, fmt.Errorf("%w: local node %q takes no user or port", ErrUsage, h.Login())
			}
			hosts = append(hosts, h.Name)
			if h.Slots > 0 {
				if slots == nil {
					slots = map[string]int{}
				}
				slots[h.Name] = h.Slots
			}
		}
	} else {
		m, err := f.excluder()
		if err != nil {
			return nil, err
		}
		for _, h := range DefaultNodes {
			if m == nil || !m.Match(h) {
				hosts = append(hosts, h)
			}
		}
		if len(hosts) == 0 {
			return nil, fmt.Errorf("%w: %w: the exclusions removed every local node", ErrUsage, hostsel.ErrNoHosts)
		}
	}
	n := &Nodes{Hosts: hosts, Slots: slots, Local: true, Root: f.Root}
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

// excluder reads every -x value into one matcher; nil when there is none.
func (f *Flags) excluder() (*hostsel.Matcher, error) {
	if len(f.Exclude) == 0 {
		return nil, nil
	}
	m, err := hostsel.ParseExclude(strings.Join(f.Exclude, ","))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return m, nil
}
