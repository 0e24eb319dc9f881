// Command sshnodes starts real OpenSSH sshd nodes on loopback for the
// benchmark script and keeps them up until its standard input closes or it
// receives SIGINT, SIGTERM or SIGHUP; then it stops them (every session
// process included) and removes their files.
//
//	sshnodes [-n 3] [-dir DIR] [-addr-from 127.0.1.1] [-max-sessions N] [-max-startups S]
//
// Once the nodes listen it prints one line, the path of the ssh_config that
// reaches them as node1 … nodeN (use it with ssh -F, scp -F, or
// examples/cluster -ssh-config). It needs the Debian packages openssh-server
// and, for per-node home directories, libnss-wrapper.
//
// With -addr-from A, node i also listens on the loopback address A+i-1
// (127.0.1.1, 127.0.1.2, …; Linux routes all of 127.0.0.0/8 to lo), on the
// same port as on 127.0.0.1, and the printed ssh_config (ssh_config.addrs,
// with its own known_hosts.addrs) reaches each node at its own address, as
// distinct hosts would be reached. internal/sshtest listens on 127.0.0.1
// only, so this program adds the address itself: it appends a ListenAddress
// line to each running node's sshd_config and sends the sshd SIGHUP, on
// which sshd re-executes itself with the same process id and reads the file
// again. A node restarted through internal/sshtest would lose the address;
// sshnodes never restarts one.
//
// Standard input also takes commands, one per line; each answer is one line
// on standard output:
//
//	freeze I   SIGSTOP node I's sshd and everything under it -> "frozen nodeI"
//	thaw I     resume them                                    -> "thawed nodeI"
//	pids       the sshd process ids, node1 first              -> "pids P1 P2 …"
//
// A failed command answers "error: …". The nodes run OpenSSH's defaults for
// MaxSessions (10) and MaxStartups (10:30:100), as a stock server does,
// unless -max-sessions or -max-startups says otherwise.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dproc/internal/sshtest"
)

func main() {
	n := flag.Int("n", 3, "number of nodes")
	dir := flag.String("dir", "", "directory for the nodes' files (default: a temporary directory, removed at exit)")
	maxSessions := flag.Int("max-sessions", 0, "sshd MaxSessions (default: OpenSSH's 10)")
	maxStartups := flag.String("max-startups", "", "sshd MaxStartups (default: OpenSSH's 10:30:100)")
	addrFrom := flag.String("addr-from", "", "give node i the loopback address ADDR+i-1 (e.g. 127.0.1.1); default: all on 127.0.0.1")
	flag.Parse()
	if err := run(*n, *dir, *addrFrom, &sshtest.Options{MaxSessions: *maxSessions, MaxStartups: *maxStartups}); err != nil {
		fmt.Fprintln(os.Stderr, "sshnodes:", err)
		os.Exit(1)
	}
}

func run(n int, dir, addrFrom string, opts *sshtest.Options) error {
	var addrs []netip.Addr
	if addrFrom != "" {
		a, err := netip.ParseAddr(addrFrom)
		if err != nil || !a.Is4() || !a.IsLoopback() {
			return fmt.Errorf("-addr-from %q: not an IPv4 loopback address", addrFrom)
		}
		for i := 0; i < n; i++ {
			if !a.IsLoopback() {
				return fmt.Errorf("-addr-from %s: %d nodes run past 127.255.255.255", addrFrom, n)
			}
			addrs = append(addrs, a)
			a = a.Next()
		}
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "dproc-sshnodes-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	c, err := sshtest.Start(dir, n, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg := c.ConfigFile()
	if addrs != nil {
		if cfg, err = listenOn(c, addrs); err != nil {
			return err
		}
	}
	fmt.Println(cfg)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-sig:
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if l = strings.TrimSpace(l); l != "" {
				fmt.Println(command(c, l))
			}
		}
	}
}

// command runs one command line from standard input and returns its answer.
func command(c *sshtest.Cluster, line string) string {
	f := strings.Fields(line)
	node := func() (*sshtest.Node, error) {
		if len(f) != 2 {
			return nil, fmt.Errorf("usage: %s I", f[0])
		}
		i, err := strconv.Atoi(f[1])
		if err != nil || i < 1 || i > len(c.Nodes()) {
			return nil, fmt.Errorf("no node %q (1 to %d)", f[1], len(c.Nodes()))
		}
		return c.Node(i), nil
	}
	var nd *sshtest.Node
	var err error
	switch f[0] {
	case "freeze":
		if nd, err = node(); err == nil {
			if err = nd.Freeze(); err == nil {
				return "frozen " + nd.Name()
			}
		}
	case "thaw":
		if nd, err = node(); err == nil {
			if err = nd.Thaw(); err == nil {
				return "thawed " + nd.Name()
			}
		}
	case "pids":
		s := "pids"
		for _, nd := range c.Nodes() {
			s += " " + strconv.Itoa(nd.Pid())
		}
		return s
	default:
		err = fmt.Errorf("unknown command %q (freeze I, thaw I, pids)", f[0])
	}
	return "error: " + err.Error()
}

// listenOn makes node i listen on addrs[i-1] as well, on its port, and
// writes ssh_config.addrs and known_hosts.addrs next to the cluster's files,
// naming each node by its own address. It returns the new ssh_config's path.
func listenOn(c *sshtest.Cluster, addrs []netip.Addr) (string, error) {
	byPort := make(map[string]string) // "[127.0.0.1]:port" -> "[addr]:port"
	for i, nd := range c.Nodes() {
		port := strconv.Itoa(nd.Port())
		f, err := os.OpenFile(nd.ConfigFile(), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return "", err
		}
		_, err = fmt.Fprintf(f, "ListenAddress %s:%s\n", addrs[i], port)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		if err := syscall.Kill(nd.Pid(), syscall.SIGHUP); err != nil {
			return "", fmt.Errorf("%s: SIGHUP to sshd: %w", nd.Name(), err)
		}
		byPort["[127.0.0.1]:"+port] = "[" + addrs[i].String() + "]:" + port
	}
	// Wait until every node answers on its new address (sshd re-executes
	// and binds again after SIGHUP).
	for i, nd := range c.Nodes() {
		addr := net.JoinHostPort(addrs[i].String(), strconv.Itoa(nd.Port()))
		deadline := time.Now().Add(15 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return "", fmt.Errorf("%s not listening on %s after SIGHUP: %v\n%s", nd.Name(), addr, err, nd.LogTail(2000))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	kh, err := os.ReadFile(c.KnownHostsFile())
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, l := range strings.SplitAfter(string(kh), "\n") {
		hosts, rest, ok := strings.Cut(l, " ")
		if to, found := byPort[hosts]; ok && found {
			l = to + " " + rest
		}
		out.WriteString(l)
	}
	khAddrs := filepath.Join(c.Dir(), "known_hosts.addrs")
	if err := os.WriteFile(khAddrs, []byte(out.String()), 0o600); err != nil {
		return "", err
	}

	cfg, err := os.ReadFile(c.ConfigFile())
	if err != nil {
		return "", err
	}
	out.Reset()
	host := ""
	for _, l := range strings.SplitAfter(string(cfg), "\n") {
		key, val, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch strings.ToLower(key) {
		case "host":
			host = val
		case "hostname":
			if i, err := strconv.Atoi(strings.TrimPrefix(host, "node")); err == nil && strings.HasPrefix(host, "node") && i >= 1 && i <= len(addrs) {
				l = "  HostName " + addrs[i-1].String() + "\n"
			}
		case "userknownhostsfile":
			l = "  UserKnownHostsFile " + khAddrs + "\n"
		}
		out.WriteString(l)
	}
	if !strings.Contains(out.String(), "known_hosts.addrs") {
		return "", errors.New("the cluster's ssh_config names no UserKnownHostsFile")
	}
	cfgAddrs := filepath.Join(c.Dir(), "ssh_config.addrs")
	if err := os.WriteFile(cfgAddrs, []byte(out.String()), 0o600); err != nil {
		return "", err
	}
	return cfgAddrs, nil
}
