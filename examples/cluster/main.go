// Command cluster is a basic cluster run done with dproc:
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
//	-input FILE        input to process: a file, a pipe or FIFO (<(cmd)), or - for standard
//	                   input, which is streamed (default: a generated sample)
//	-worker 'LINE'     shell line that reads stdin and writes stdout (default: tr a-z A-Z)
//	-out FILE          result file (default: final_result.txt); written only if the run succeeds;
//	                   - writes standard output in order as chunks commit (messages then go to
//	                   stderr); a directory, or the -metrics file, is an error before any work
//	-slots N           chunks run at once per node (default 2)
//	-block SIZE        chunk size in bytes, e.g. 4M (default: about one chunk per slot, 64K..32M)
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
//	                   (default with -halt never or N%, and -resume-failed: OUT.journal beside
//	                   -out, or cluster.journal for -out -; removed when the run succeeds)
//	-resume            skip the chunks the journal records as done
//	-resume-failed     run only the chunks that failed or never ran: -resume with the default
//	                   journal (the journal records only chunks that succeeded, so the two are
//	                   the same on one journal)
//	-require-full-read fail a chunk whose worker exits 0 without reading all of its input
//	                   (default: warn on stderr, in one line naming the chunks, and succeed:
//	                   workers such as head -n 1 are legitimate)
//	-timeout-fallback D with -timeout N%, bounds attempts until a median exists (default 10m)
//	-metrics FILE      CPU, memory and IO of every node during the run, as CSV (default: metrics.csv; "" to skip)
//	-metrics-interval  sampling interval for -metrics (default 250ms)
//	-v                 print every event to stderr
//
// Memory: the program sets the Go runtime's soft memory limit for the run
// (runtime/debug.SetMemoryLimit), sized from the sessions running at once:
// 12 MiB plus 2 MiB (an SSH channel window) per slot on every node, plus
// 64 MiB for a streamed input; for 3 nodes with 2 slots, 24 MiB. It sets
// GOGC to 400 with it, so that the collector runs less often while the
// heap is small. A GOMEMLIMIT in the environment replaces both, a GOGC
// replaces the latter. Outputs that finish ahead of their turn are held
// in 2 MiB of memory in all, and beyond that in temp files.
//
// A node that dies, hangs or drops its connection costs time, not data: its
// chunks run again on the other nodes, and it rejoins when it answers again.
//
// On failure it exits with status 1, prints the error (which node, which
// chunk, which command as given to -worker, exit status and the tail of the
// worker's stderr) and leaves no output file. With -halt never or N%, the
// chunks that succeeded are kept in the journal and it prints how to rerun
// only the failed ones; the result file appears only once every chunk is
// done.
//
// An attempt that times out fails like a worker that exits non-zero (it is
// retried within -retries), unless its node then fails a probe, in which case
// the node is down and the chunk moves. Without -v it prints one line per
// node state change (down, up) and nothing per chunk.
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
	"dproc/internal/cli"
	"dproc/internal/human"
	"dproc/internal/nodeflags"
	"dproc/metrics"
	"dproc/split"
	"dproc/transport"
)

func main() {
	tuneGC = setMemoryLimit
	cli.MainStdin("cluster", runStdin)
}

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
	// Set by -resume-failed, -require-full-read, -timeout-fallback, and
	// when the journal is the default one derived from -out.
	resumeFailed, fullRead, autoJournal bool
	timeoutFallback                     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{nodes: nodeflags.Register(fs)}
	var block, timeout, halt string
	fs.StringVar(&c.input, "input", "", "input file, pipe or FIFO; - for standard input (default: a generated sample)")
	fs.StringVar(&c.worker, "worker", "tr a-z A-Z", "worker: a shell line that reads stdin and writes stdout")
	fs.StringVar(&c.out, "out", "final_result.txt", "result file, written only when the run succeeds; - for standard output, written as chunks commit")
	fs.IntVar(&c.slots, "slots", 2, "chunks run at once on each node")
	fs.StringVar(&block, "block", "", "chunk size in bytes, with optional K, M or G suffix (default: one chunk per slot, 64K to 32M)")
	fs.IntVar(&c.retries, "retries", 0, "run a chunk whose worker failed up to N more times, on another node when one is free")
	fs.StringVar(&timeout, "timeout", "", "per-attempt timeout: a duration (30s) or a share of the median attempt (200%)")
	fs.StringVar(&halt, "halt", "now", "now: stop at the first failed chunk; never: run every chunk; N%: stop once N% failed")
	fs.StringVar(&c.journal, "journal", "", "directory recording committed chunks, for -resume")
	fs.BoolVar(&c.resume, "resume", false, "skip the chunks the -journal records as done")
	fs.BoolVar(&c.resumeFailed, "resume-failed", false, "run only the chunks that failed or never ran in an earlier run (-journal, or the default journal of -out)")
	fs.BoolVar(&c.fullRead, "require-full-read", false, "fail a chunk whose worker exits without reading all of its input")
	fs.DurationVar(&c.timeoutFallback, "timeout-fallback", 0, "with -timeout N%, the bound on attempts until a median exists (default 10m)")
	fs.StringVar(&c.metrics, "metrics", "metrics.csv", "CSV of every node's CPU, memory and IO during the run (empty: none)")
	fs.DurationVar(&c.metricsInterval, "metrics-interval", 250*time.Millisecond, "sampling interval for -metrics")
	fs.BoolVar(&c.verbose, "v", false, "print every event to stderr")
	if err := cli.Parse(fs, args); err != nil {
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
	if c.timeoutFallback < 0 {
		return nil, errors.New("-timeout-fallback must not be negative")
	}
	if c.out == "" {
		return nil, errors.New("-out must not be empty (- for standard output)")
	}
	if c.metrics != "" && c.out != "-" && sameFile(c.out, c.metrics) {
		return nil, fmt.Errorf("-out and -metrics name the same file %q", c.out)
	}
	if block != "" {
		b, err := human.ParseSize(block)
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
	// A run that keeps going past failures must not throw away its good
	// chunks: without -journal they are kept in a journal next to -out,
	// so that -resume-failed runs only the chunks that failed. The same
	// default serves -resume-failed.
	if c.journal == "" && (c.halt.KeepGoing || c.resumeFailed) {
		c.journal, c.autoJournal = defaultJournal(c.out), true
	}
	if c.resumeFailed {
		// The journal records committed chunks only, so resuming from
		// it runs exactly the failed and the missing ones.
		c.resume = true
	}
	// Paths that would collide only at the end of the run (the rename of
	// the output) or destroy the input are refused before any work.
	if c.out != "-" {
		if c.journal != "" && sameFile(c.out, c.journal) {
			return nil, fmt.Errorf("-out and -journal name the same path %q", c.out)
		}
		if c.input != "" && c.input != "-" && sameFile(c.out, c.input) {
			return nil, fmt.Errorf("-out names the input file %q: the result would replace it", c.out)
		}
	}
	if c.journal != "" && c.metrics != "" && sameFile(c.journal, c.metrics) {
		return nil, fmt.Errorf("-journal and -metrics name the same path %q", c.journal)
	}
	return c, nil
}

// defaultJournal is the journal directory used without -journal: OUT.journal
// beside the result file, or cluster.journal in the current directory when
// the result goes to standard output.
func defaultJournal(out string) string {
	if out == "-" {
		return "cluster.journal"
	}
	return out + ".journal"
}

// run is the program with an empty standard input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runStdin(ctx, args, strings.NewReader(""), stdout, stderr)
}

func runStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// The output first, so that a bad -out fails before any work.
	out, stdout, err := openOutput(c.out, stdout, stderr)
	if err != nil {
		return err
	}
	// Every return before the dispatcher's Run (which closes out) removes
	// the output's temp file; after Run this Close changes nothing.
	defer out.Close(0, errors.New("cluster: run not started"))
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
	in, err := openInput(input, stdin)
	if err != nil {
		return err
	}
	defer in.Close()

	// Split: line-aligned blocks, read in place (no chunk files) from a
	// regular file; a pipe or FIFO is read once and its chunks kept in
	// memory, then in temp files, until they are done.
	block := c.block
	if block == 0 {
		block = split.DefaultStreamBlockSize
		if !in.Streamed() {
			block = split.BlockSizeFor(in.Size(), c.slots*len(nodes.Hosts))
		}
	}
	splitter := in.Blocks(block)
	if tuneGC != nil {
		tuneGC(memoryLimit(c.slots*len(nodes.Hosts), in.Streamed()))
	}

	opts := &dispatch.Options{
		Slots: c.slots, Retries: c.retries, Timeout: c.timeout, TimeoutFactor: c.timeoutFactor,
		Halt: c.halt, TimeoutFallback: c.timeoutFallback, RequireFullRead: c.fullRead,
	}
	runOpts := &dispatch.RunOptions{Journal: c.journal, Resume: c.resume}
	if c.verbose {
		runOpts.Events = func(e dispatch.Event) { fmt.Fprintln(stderr, e) }
	} else {
		runOpts.Events = func(e dispatch.Event) {
			if e.Kind == dispatch.HostDown || e.Kind == dispatch.HostUp {
				fmt.Fprintln(stderr, e)
			}
		}
	}
	if c.autoJournal && !c.resume {
		if _, err := os.Stat(filepath.Join(c.journal, "journal.log")); err == nil {
			return fmt.Errorf("%s holds the journal of an earlier run that did not finish: add -resume-failed to run only the chunks it lacks, or remove it to start over", c.journal)
		}
	}
	d, err := dispatch.New(nodes.Transport, nodes.Hosts, opts)
	if err != nil {
		return err
	}
	// The worker as a script, ~/processing/worker.sh on every node,
	// installed once and skipped when already there.
	job := &dispatch.Job{
		Args: []string{"./worker.sh"}, Dir: "processing",
		Setup: []transport.File{{
			Path: "worker.sh", Mode: 0o755,
			Data: []byte("#!/bin/sh\n" + c.worker + "\n"),
		}},
		// Errors name the worker as the user wrote it, not worker.sh.
		Name: c.worker,
	}

	// Node metrics, sampled beside the run and stopped with it.
	stopMetrics := func() error { return nil }
	if c.metrics != "" {
		stopMetrics, err = startMetrics(ctx, nodes, c.metrics, c.metricsInterval, stderr)
		if err != nil {
			return err
		}
	}

	fmt.Fprintf(stdout, "processing %s on %d nodes, %d slots each, blocks of %d bytes\n",
		describeInput(in), len(nodes.Hosts), c.slots, block)
	rep, err := d.Run(ctx, job, splitter, out, runOpts)
	merr := stopMetrics()
	if rep != nil && (err == nil || rep.Chunks > 0) && !errors.Is(err, dispatch.ErrJournalMismatch) {
		// A run refused before any chunk, or refused by its journal
		// (written for another worker or another input), has nothing to
		// report.
		printReport(stdout, rep)
	}
	if rep != nil && rep.Unread > 0 {
		warnUnread(stderr, rep)
	}
	if err != nil {
		if hint := rerunHint(c, args, err); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		return err
	}
	if c.autoJournal {
		// Complete: nothing left to resume.
		if rerr := os.RemoveAll(c.journal); rerr != nil {
			fmt.Fprintln(stderr, "cluster: removing the journal:", rerr)
		}
	}
	if merr != nil {
		fmt.Fprintln(stderr, "cluster: metrics:", merr)
	} else if c.metrics != "" {
		fmt.Fprintf(stdout, "wrote %s\n", c.metrics)
	}
	fmt.Fprintf(stdout, "wrote %s\n", c.out)
	return nil
}

// warnUnread says, in one line, which chunks' input the worker left unread.
func warnUnread(w io.Writer, rep *dispatch.Report) {
	n := len(rep.UnreadChunks)
	list := make([]string, 0, min(n, 10))
	for i, c := range rep.UnreadChunks {
		if i == 10 {
			list = append(list, fmt.Sprintf("... %d more", n-10))
			break
		}
		list = append(list, strconv.Itoa(c))
	}
	chunks := "chunks"
	if n == 1 {
		chunks = "chunk"
	}
	fmt.Fprintf(w, "cluster: warning: the worker left input unread in %d %s (%s): %d bytes (-require-full-read makes this an error)\n",
		n, chunks, strings.Join(list, ", "), rep.Unread)
}

// rerunHint tells how to run only the chunks that failed, when a journal
// kept the others.
func rerunHint(c *config, args []string, err error) string {
	var fc *dispatch.FailedChunksError
	var ce *dispatch.ChunkError
	workerFailed := errors.As(err, &ce) && (errors.Is(err, transport.ErrFailed) ||
		errors.Is(err, dispatch.ErrAttemptTimeout) || errors.Is(err, dispatch.ErrUnread))
	if c.journal == "" || (!errors.As(err, &fc) && !workerFailed) {
		// No journal, or a failure (a refused node, a bad journal)
		// that a rerun would meet again.
		return ""
	}
	again := args
	if !c.resumeFailed && !c.resume {
		again = append(append([]string(nil), args...), "-resume-failed")
	}
	return fmt.Sprintf("cluster: the chunks that succeeded are kept in %s; to run only the failed ones: cluster %s",
		c.journal, transport.QuoteArgs(again))
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
	fmt.Fprintln(tw, "node\tdone\tfailed\tlost\tstalled\tspec\tbytes in\tbytes out\tbusy\tMB/s\t")
	row := func(name string, h dispatch.HostReport) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%.1f\t\n", name, h.Done, h.Failures, h.Lost, h.Stalled,
			h.Speculative, h.BytesIn, h.BytesOut, h.Busy.Round(time.Millisecond), h.Throughput()/1e6)
	}
	for _, h := range rep.Hosts {
		name := h.Host
		if h.Retired {
			name += " (retired)"
		}
		row(name, h)
	}
	// The total's busy is the wall time during which any node ran a
	// chunk (Report.Busy), so it never exceeds the run's elapsed time.
	row("total", rep.Total())
	tw.Flush()
	fmt.Fprintf(w, "speculative launches: %d\n", rep.Speculative)
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
