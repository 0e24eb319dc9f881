// Command status prints the health of every node, the seed's check_nodes
// done in one round trip per node and parsed into a table: hostname,
// kernel, uptime, load, CPUs, memory, swap and every filesystem. A node that
// cannot be reached is a row with its error, not a failed run.
//
//	go run ./examples/status [-nodes a,b,c -ssh-config FILE] [-timeout 10s]
//
// Without -nodes it checks three local nodes (this machine, three times).
// It exits with status 1 when any node could not be checked.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"dproc/examples/internal/nodeflags"
	"dproc/internal/cli"
	"dproc/metrics"
)

func main() { cli.Main("status", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := nodeflags.Register(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "give up on a node after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nodes, err := nf.Open()
	if err != nil {
		return err
	}
	defer nodes.Close()
	rows := metrics.Status(ctx, nodes.Transport, nodes.Hosts, &metrics.StatusOptions{Timeout: *timeout})
	if err := metrics.WriteStatusTable(stdout, rows); err != nil {
		return err
	}
	failed := 0
	for _, r := range rows {
		if r.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d nodes could not be checked", failed, len(rows))
	}
	return nil
}
