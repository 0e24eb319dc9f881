// Command metrics samples every node's CPU busy %, memory used % and disk IO
// into a CSV file whose header starts timestamp,node,cpu,memory,io. Nothing
// needs installing on the nodes: one long-lived session per node streams
// its /proc files and the differences between readings are computed here.
//
//	go run ./examples/metrics [-interval 1s] [-count 5] [-out metrics.csv] [-nodes a,b,c -ssh-config FILE]
//
// Without -nodes it samples three local nodes (this machine). A node that
// drops out leaves a gap (one line on stderr when it drops out) while the
// others go on. -count bounds the attempts on each node: a node stops after
// -count samples or after -count failed attempts, so the program always
// ends. A node that was still failing then is named on stderr, one line per
// node, the CSV holds what the others gave, and the exit status is 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"dproc/internal/cli"
	"dproc/internal/nodeflags"
	"dproc/metrics"
	"dproc/transport"
)

func main() { cli.Main("metrics", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := nodeflags.Register(fs)
	interval := fs.Duration("interval", time.Second, "sampling interval")
	count := fs.Int("count", 5, "samples per node (0: until interrupted)")
	out := fs.String("out", "metrics.csv", "CSV file to write (- for standard output)")
	if err := cli.Parse(fs, args); err != nil {
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
	return sample(ctx, nodes.Transport, nodes.Hosts, &metrics.SamplerOptions{Interval: *interval, Count: *count}, *out, stdout, stderr)
}

// sample samples hosts over tr into the CSV file out ("-": stdout).
func sample(ctx context.Context, tr transport.Transport, hosts []string, opts *metrics.SamplerOptions, out string, stdout, stderr io.Writer) error {
	s, err := metrics.NewSampler(tr, hosts, opts)
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	cw := metrics.NewCSVWriter(w)
	// One line per node when it drops out, not one per failed attempt. With
	// a count, a node that never answered is reported once, at the end.
	measured, inGap := map[string]bool{}, map[string]bool{}
	err = s.Run(ctx, func(x metrics.Sample) {
		if x.Err == nil {
			measured[x.Host], inGap[x.Host] = true, false
			cw.Write(x)
			return
		}
		if !inGap[x.Host] && (measured[x.Host] || opts.Count == 0) {
			fmt.Fprintf(stderr, "metrics: gap on %s: %v\n", x.Host, hostless(x.Host, x.Err))
		}
		inGap[x.Host] = true
	})
	if ferr := cw.Flush(); err == nil {
		err = ferr
	}
	// What was sampled is written, even when a node is down or the run was
	// interrupted (the caller reports that).
	var down []*metrics.HostDownError
	for _, e := range unjoin(err) {
		var hd *metrics.HostDownError
		if errors.As(e, &hd) {
			down = append(down, hd)
		}
	}
	if (err == nil || len(down) > 0 || ctx.Err() != nil) && out != "-" {
		fmt.Fprintf(stdout, "wrote %s\n", out)
	}
	if len(down) > 0 {
		for _, hd := range down {
			fmt.Fprintf(stderr, "metrics: %v\n", hd)
		}
		if len(down) == len(unjoin(err)) {
			return &nodesDown{n: len(down), of: len(hosts), err: err}
		}
	}
	return err
}

// nodesDown is the error for a run in which some nodes were down to the
// end; it wraps the Sampler's error, so errors.Is(err, metrics.ErrHostDown).
type nodesDown struct {
	n, of int
	err   error
}

func (e *nodesDown) Error() string { return fmt.Sprintf("%d of %d nodes down", e.n, e.of) }
func (e *nodesDown) Unwrap() error { return e.err }

// unjoin returns the errors that errors.Join joined into err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

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
