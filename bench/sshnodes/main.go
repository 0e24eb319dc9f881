// Command sshnodes starts real OpenSSH sshd nodes on 127.0.0.1 for the
// benchmark script and keeps them up until its standard input closes or it
// receives SIGINT or SIGTERM; then it stops them and removes their files.
//
//	sshnodes [-n 3] [-dir DIR]
//
// Once the nodes listen it prints one line, the path of the ssh_config that
// reaches them as node1 … nodeN (use it with ssh -F, scp -F, or
// examples/cluster -ssh-config). It needs the Debian packages openssh-server
// and, for per-node home directories, libnss-wrapper.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"dproc/internal/sshtest"
)

func main() {
	n := flag.Int("n", 3, "number of nodes")
	dir := flag.String("dir", "", "directory for the nodes' files (default: a temporary directory, removed at exit)")
	maxSessions := flag.Int("max-sessions", 0, "sshd MaxSessions (default: OpenSSH's 10)")
	flag.Parse()
	if err := run(*n, *dir, *maxSessions); err != nil {
		fmt.Fprintln(os.Stderr, "sshnodes:", err)
		os.Exit(1)
	}
}

func run(n int, dir string, maxSessions int) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "dproc-sshnodes-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	c, err := sshtest.Start(dir, n, &sshtest.Options{MaxSessions: maxSessions})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println(c.ConfigFile())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-sig:
	case <-eof:
	}
	return nil
}
