// Command sshresolve prints, for each host, the settings dproc's SSH
// transport will use to reach it, in the format of ssh -G: one "keyword
// value" line per setting. Compare it with ssh -G to see where dproc and
// OpenSSH agree.
//
//	go run ./examples/sshresolve [-ssh-config FILE] [-accept-new] host...
//
// A host is an ssh_config alias, "[user@]host[:port]" or
// "ssh://[user@]host[:port]". Without -ssh-config it reads ~/.ssh/config and
// /etc/ssh/ssh_config, as ssh does. With several hosts, their settings are
// separated by a blank line. Each ProxyJump hop follows its host, as a
// "# via N: HOP" line and its own settings. A host that cannot be resolved
// is one line on stderr naming it and the config file, line and keyword at
// fault; the exit status is then 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"dproc/internal/cli"
	"dproc/transport/sshtransport"
)

func main() { cli.Main("sshresolve", run) }

func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sshresolve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sshresolve [-ssh-config FILE] [-accept-new] host...")
		fs.PrintDefaults()
	}
	config := fs.String("ssh-config", "", "ssh_config file (default: ~/.ssh/config, then /etc/ssh/ssh_config)")
	acceptNew := fs.Bool("accept-new", false, "show the settings with Options.AcceptNew set")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "sshresolve: no host given")
		fs.Usage()
		return fmt.Errorf("no host given: %w", cli.ErrUsage)
	}
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: *config, AcceptNew: *acceptNew})
	if err != nil {
		return err
	}
	defer tr.Close()
	var failed []error
	for i, host := range fs.Args() {
		s, err := tr.Resolve(host)
		if err != nil {
			fmt.Fprintf(stderr, "sshresolve: %v\n", err)
			failed = append(failed, err)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if _, err := s.WriteTo(stdout); err != nil {
			return err
		}
		for n, hop := range s.Jumps {
			fmt.Fprintf(stdout, "# via %d: %s\n", n+1, hop.Host)
			if _, err := hop.WriteTo(stdout); err != nil {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return &unresolved{n: len(failed), of: fs.NArg(), err: errors.Join(failed...)}
	}
	return nil
}

// unresolved is the error of a run in which some hosts could not be
// resolved; each was reported on stderr already.
type unresolved struct {
	n, of int
	err   error
}

func (e *unresolved) Error() string {
	return fmt.Sprintf("%d of %d hosts could not be resolved", e.n, e.of)
}

func (e *unresolved) Unwrap() error { return e.err }
