// Command metrics samples every node's CPU busy %, memory used % and disk IO
// into a CSV file whose header starts timestamp,node,cpu,memory,io, as the
// seed's collect_metrics, without needing sar on the nodes: one long-lived
// session per node streams /proc and the deltas are computed here.
//
//	go run ./examples/metrics [-interval 1s] [-count 5] [-out metrics.csv] [-nodes a,b,c -ssh-config FILE]
//
// Without -nodes it samples three local nodes (this machine). A node that
// drops out leaves a gap (reported on stderr) while the others go on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"dproc/examples/internal/nodeflags"
	"dproc/internal/cli"
	"dproc/metrics"
)

func main() { cli.Main("metrics", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := nodeflags.Register(fs)
	interval := fs.Duration("interval", time.Second, "sampling interval")
	count := fs.Int("count", 5, "samples per node (0: until interrupted)")
	out := fs.String("out", "metrics.csv", "CSV file to write (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *count < 0 || *interval <= 0 {
		return errors.New("-count must not be negative and -interval must be positive")
	}
	nodes, err := nf.Open()
	if err != nil {
		return err
	}
	defer nodes.Close()
	s, err := metrics.NewSampler(nodes.Transport, nodes.Hosts, &metrics.SamplerOptions{Interval: *interval, Count: *count})
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	cw := metrics.NewCSVWriter(w)
	err = s.Run(ctx, func(x metrics.Sample) {
		if x.Err != nil {
			fmt.Fprintf(stderr, "gap on %s: %v\n", x.Host, x.Err)
			return
		}
		cw.Write(x)
	})
	if ferr := cw.Flush(); err == nil {
		err = ferr
	}
	if errors.Is(err, context.Canceled) {
		err = nil // interrupted: what was sampled is written
	}
	if err == nil && *out != "-" {
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return err
}
