// Command cluster is the seed's "Mission 1: basic cluster" done with dproc:
// it sets up the nodes, splits an input into line-aligned chunks, runs a
// worker on every node in parallel, gathers the results in input order into
// one file, and prints what each node did.
//
// With no flags it runs on three local nodes (directories in a temporary
// root) on a generated sample input, so it needs no setup:
//
//	go run ./examples/cluster
//
// Flags:
//
//	-input FILE        input to process (default: a generated sample)
//	-worker 'LINE'     shell line that reads stdin and writes stdout (default: tr a-z A-Z)
//	-out FILE          result file (default: final_result.txt); written only if the run succeeds
//	-slots N           chunks run at once per node (default 2)
//	-block SIZE        chunk size in bytes, e.g. 4M (default: about one chunk per slot, 64K..8M)
//	-nodes a,b,c       SSH hosts: ~/.ssh/config aliases or [user@]host[:port]
//	                   (default: node1,node2,node3 as local nodes)
//	-ssh-config FILE   ssh_config for -nodes (default: ~/.ssh/config)
//	-local             treat -nodes as local nodes under -root
//	-root DIR          directory holding local nodes (default: a temporary directory)
//	-retries N         run a chunk whose worker failed up to N more times (default 0)
//	-timeout T         per-attempt timeout: a duration (30s) or a share of the median attempt (200%)
//	-halt POLICY       now (default): stop at the first failed chunk; never: run every chunk and
//	                   report all failures; N%: keep going until N% of the chunks failed
//	-journal DIR       record committed chunks in DIR so that -resume can finish a killed run
//	-resume            skip the chunks the journal records as done
//	-metrics FILE      CPU, memory and IO of every node during the run, as CSV (default: metrics.csv; "" to skip)
//	-metrics-interval  sampling interval for -metrics (default 250ms)
//	-v                 print every event to stderr
//
// A node that dies, hangs or drops its connection costs time, not data: its
// chunks run again on the other nodes, and it rejoins when it answers again.
//
// On failure it exits with status 1, prints the error (which node, which
// chunk, which command, exit status and the tail of the worker's stderr) and
// leaves no output file.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"dproc/dispatch"
	"dproc/examples/internal/nodeflags"
	"dproc/gather"
	"dproc/internal/cli"
	"dproc/metrics"
	"dproc/split"
	"dproc/transport"
)

func main() { cli.Main("cluster", run) }

type config struct {
	input, worker, out, journal, metrics string
	metricsInterval                      time.Duration
	nodes                                *nodeflags.Flags
	slots, retries                       int
	block                                int64
	timeout                              time.Duration
	timeoutFactor                        float64
	halt                                 dispatch.Halt
	resume, verbose                      bool
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{nodes: nodeflags.Register(fs)}
	var block, timeout, halt string
	fs.StringVar(&c.input, "input", "", "input file (default: a generated sample)")
	fs.StringVar(&c.worker, "worker", "tr a-z A-Z", "worker: a shell line that reads stdin and writes stdout")
	fs.StringVar(&c.out, "out", "final_result.txt", "result file, written only when the run succeeds")
	fs.IntVar(&c.slots, "slots", 2, "chunks run at once on each node")
	fs.StringVar(&block, "block", "", "chunk size in bytes, with optional K, M or G suffix (default: one chunk per slot, 64K to 8M)")
	fs.IntVar(&c.retries, "retries", 0, "run a chunk whose worker failed up to N more times, on another node when one is free")
	fs.StringVar(&timeout, "timeout", "", "per-attempt timeout: a duration (30s) or a share of the median attempt (200%)")
	fs.StringVar(&halt, "halt", "now", "now: stop at the first failed chunk; never: run every chunk; N%: stop once N% failed")
	fs.StringVar(&c.journal, "journal", "", "directory recording committed chunks, for -resume")
	fs.BoolVar(&c.resume, "resume", false, "skip the chunks the -journal records as done")
	fs.StringVar(&c.metrics, "metrics", "metrics.csv", "CSV of every node's CPU, memory and IO during the run (empty: none)")
	fs.DurationVar(&c.metricsInterval, "metrics-interval", 250*time.Millisecond, "sampling interval for -metrics")
	fs.BoolVar(&c.verbose, "v", false, "print every event to stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.slots < 1 {
		return nil, fmt.Errorf("-slots must be at least 1, not %d", c.slots)
	}
	if c.retries < 0 {
		return nil, fmt.Errorf("-retries must not be negative")
	}
	if strings.TrimSpace(c.worker) == "" {
		return nil, errors.New("-worker must not be empty")
	}
	if c.resume && c.journal == "" {
		return nil, errors.New("-resume needs -journal")
	}
	if block != "" {
		b, err := parseSize(block)
		if err != nil {
			return nil, fmt.Errorf("-block: %w", err)
		}
		c.block = b
	}
	if timeout != "" {
		if pct, ok := strings.CutSuffix(timeout, "%"); ok {
			f, err := strconv.ParseFloat(pct, 64)
			if err != nil || f <= 0 {
				return nil, fmt.Errorf("-timeout: bad share %q", timeout)
			}
			c.timeoutFactor = f / 100
		} else {
			d, err := time.ParseDuration(timeout)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("-timeout: bad duration %q", timeout)
			}
			c.timeout = d
		}
	}
	switch {
	case halt == "now":
	case halt == "never":
		c.halt.KeepGoing = true
	case strings.HasSuffix(halt, "%"):
		f, err := strconv.ParseFloat(strings.TrimSuffix(halt, "%"), 64)
		if err != nil || f <= 0 || f > 100 {
			return nil, fmt.Errorf("-halt: bad share %q", halt)
		}
		c.halt = dispatch.Halt{KeepGoing: true, Share: f / 100}
	default:
		return nil, fmt.Errorf("-halt: want now, never or N%%, not %q", halt)
	}
	return c, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	nodes, err := c.nodes.Open()
	if err != nil {
		return err
	}
	defer nodes.Close()

	input := c.input
	if input == "" {
		dir, err := os.MkdirTemp("", "dproc-input-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		input = filepath.Join(dir, "big_data.txt")
		if err := writeSample(input, 200_000); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "no -input given: generated %s\n", input)
	}
	f, err := os.Open(input)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}

	// Split: line-aligned blocks, read in place (no chunk files).
	block := c.block
	if block == 0 {
		block = split.BlockSizeFor(st.Size(), c.slots*len(nodes.Hosts))
	}
	splitter := split.Blocks(f, st.Size(), block, nil)

	// Gather: in input order into a temp file renamed into place on success.
	// An 8 MiB reorder buffer keeps the coordinator's memory small;
	// outputs that arrive early beyond it wait in a temp file.
	out, err := gather.File(c.out, &gather.Options{MemoryBudget: 8 << 20})
	if err != nil {
		return err
	}

	opts := &dispatch.Options{
		Slots: c.slots, Retries: c.retries, Timeout: c.timeout, TimeoutFactor: c.timeoutFactor,
		Halt: c.halt, Journal: c.journal, Resume: c.resume,
	}
	if c.verbose {
		opts.Events = func(e dispatch.Event) { fmt.Fprintln(stderr, e) }
	} else {
		opts.Events = func(e dispatch.Event) {
			if e.Kind == dispatch.HostDown || e.Kind == dispatch.HostUp {
				fmt.Fprintln(stderr, e)
			}
		}
	}
	d, err := dispatch.New(nodes.Transport, nodes.Hosts, opts)
	if err != nil {
		return err
	}
	// The seed's setup_nodes: ~/processing/worker.sh on every node,
	// installed once and skipped when already there.
	job := &dispatch.Job{
		Command: transport.Command{Args: []string{"./worker.sh"}, Dir: "processing"},
		Setup: []transport.File{{
			Path: "worker.sh", Mode: 0o755,
			Data: []byte("#!/bin/sh\n" + c.worker + "\n"),
		}},
	}

	// The seed's collect_metrics, beside the run and stopped with it.
	stopMetrics := func() error { return nil }
	if c.metrics != "" {
		stopMetrics, err = startMetrics(ctx, nodes, c.metrics, c.metricsInterval, stderr)
		if err != nil {
			return err
		}
	}

	fmt.Fprintf(stdout, "processing %s (%d bytes) on %d nodes, %d slots each, blocks of %d bytes\n",
		input, st.Size(), len(nodes.Hosts), c.slots, block)
	rep, err := d.Run(ctx, job, splitter, out)
	merr := stopMetrics()
	if rep != nil {
		printReport(stdout, rep)
	}
	if err != nil {
		return err
	}
	if merr != nil {
		fmt.Fprintln(stderr, "cluster: metrics:", merr)
	} else if c.metrics != "" {
		fmt.Fprintf(stdout, "wrote %s\n", c.metrics)
	}
	fmt.Fprintf(stdout, "wrote %s\n", c.out)
	return nil
}

// startMetrics samples every node each interval into a CSV file until the
// returned function is called.
func startMetrics(ctx context.Context, nodes *nodeflags.Nodes, path string, interval time.Duration, stderr io.Writer) (func() error, error) {
	s, err := metrics.NewSampler(nodes.Transport, nodes.Hosts, &metrics.SamplerOptions{Interval: interval})
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := metrics.NewCSVWriter(f)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = s.Run(ctx, func(x metrics.Sample) {
			if x.Err != nil {
				fmt.Fprintf(stderr, "metrics: gap on %s: %v\n", x.Host, x.Err)
				return
			}
			w.Write(x)
		})
	}()
	return func() error {
		cancel()
		wg.Wait()
		err := w.Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if runErr != nil && !errors.Is(runErr, context.Canceled) {
			return runErr
		}
		return err
	}, nil
}

func printReport(w io.Writer, rep *dispatch.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\ttasks\tfailed\tlost\tbytes in\tbytes out\tbusy\tMB/s\t")
	for _, h := range rep.Hosts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%.1f\t\n", h.Host, h.Tasks, h.Failures, h.Lost,
			h.BytesIn, h.BytesOut, h.Busy.Round(time.Millisecond), h.Throughput()/1e6)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t\t%d\t%d\t%s\t\t\n", rep.Done, rep.Failed, rep.BytesIn, rep.BytesOut,
		rep.Elapsed.Round(time.Millisecond))
	tw.Flush()
	if rep.Resumed > 0 {
		fmt.Fprintf(w, "%d chunks taken from the journal\n", rep.Resumed)
	}
}

// writeSample writes n lines of deterministic lowercase text.
func writeSample(path string, n int) error {
	words := []string{"divide", "and", "conquer", "the", "essence", "of", "distributed",
		"processing", "node", "chunk", "worker", "result", "split", "gather", "ssh"}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var b strings.Builder
	x := uint32(1)
	for i := 0; i < n; i++ {
		b.Reset()
		fmt.Fprintf(&b, "%07d", i)
		for j := 0; j < 8; j++ {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b.WriteByte(' ')
			b.WriteString(words[x%uint32(len(words))])
		}
		b.WriteByte('\n')
		bw.WriteString(b.String())
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
