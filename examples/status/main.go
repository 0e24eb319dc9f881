// Command status prints the health of every node, checked in one round trip
// per node and parsed into a table: hostname, kernel, uptime, load, CPUs,
// memory, swap and every filesystem. A node that cannot be reached is a row
// with its error, not a failed run.
//
//	go run ./examples/status [-nodes a,b,c -ssh-config FILE] [-timeout 10s]
//
// Without -nodes it checks three local nodes (this machine, three times).
// It exits with status 1 when any node could not be checked, after one line
// per such node on stderr naming it and the reason.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"dproc/internal/cli"
	"dproc/internal/nodeflags"
	"dproc/metrics"
	"dproc/transport"
)

func main() { cli.Main("status", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := nodeflags.Register(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "give up on a node after this long")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	nodes, err := nf.Open()
	if err != nil {
		return err
	}
	defer nodes.Close()
	return check(ctx, nodes.Transport, nodes.Hosts, *timeout, stdout, stderr)
}

// check prints the status of hosts over tr, and one line on stderr for each
// host that could not be checked.
func check(ctx context.Context, tr transport.Transport, hosts []string, timeout time.Duration, stdout, stderr io.Writer) error {
	rows := metrics.Status(ctx, tr, hosts, &metrics.StatusOptions{Timeout: timeout})
	if err := metrics.WriteStatusTable(stdout, rows); err != nil {
		return err
	}
	var errs []error
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(stderr, "status: host %q: %s\n", r.Host, oneLine(hostless(r.Host, r.Err)))
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		return &unchecked{n: len(errs), of: len(rows), errs: errs}
	}
	return nil
}

// unchecked is the error for nodes that could not be checked; it wraps
// their errors, so errors.Is sees through it.
type unchecked struct {
	n, of int
	errs  []error
}

func (e *unchecked) Error() string {
	return fmt.Sprintf("%d of %d nodes could not be checked", e.n, e.of)
}

func (e *unchecked) Unwrap() []error { return e.errs }

// hostless returns err's text without the host its transport error names,
// for a line that names the host already.
func hostless(host string, err error) string {
	if op, ok := err.(*transport.OpError); ok && op.Host == host {
		c := *op
		c.Host = ""
		return c.Error()
	}
	return err.Error()
}

// oneLine joins the lines of s with "; ".
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
}
