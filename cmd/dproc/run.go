package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/human"
	"dproc/internal/iox"
	"dproc/internal/joblog"
	"dproc/split"
	"dproc/transport"
)

// runFlags are the flags of dproc run.
type runFlags struct {
	input, output       string
	block               string
	jobs, retries       int
	timeout, halt       string
	journal             string
	resume, resumeFail  bool
	workerFile, workdir string
	args                bool
	joblog, results     string
	tag, progress       bool
}

func (a *app) runCommand() *cobra.Command {
	f := &runFlags{}
	c := &cobra.Command{
		Use:   "run [flags] WORKER... | run [flags] CMD [{}] ::: ARG... | :::: FILE...",
		Short: "Run a worker over an input cut into blocks, or once per argument",
		Long: `Block mode: cut the input (-a FILE, or standard input) into line-aligned
blocks, feed each to the worker's standard input on a free host slot, and
write the outputs in input order to standard output or -o FILE.

Argument mode: run CMD once per argument (after :::, from the files after
::::, or one per line from standard input with --args), {} replaced by the
argument as one shell word; outputs in argument order.

Flags after the worker's first word belong to the worker.`,
		Example: `  dproc run -a access.log -o errors.txt 'grep -c ERROR'
  seq 1000 | dproc run -j 4 'paste -sd+ | bc'
  dproc run 'echo {}' ::: a b c
  dproc run --worker-file count.sh -a data.csv`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd.Context(), f, args)
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.StringVarP(&f.input, "input", "a", "", "input file, read in place (default: standard input, streamed); with --args, the argument file")
	fl.StringVarP(&f.output, "output", "o", "", "write the outputs to FILE, which appears only when every job succeeded (default: standard output)")
	fl.StringVar(&f.block, "block", "", "block size, such as 1M or 512k (default: about one block per slot for a file, 4M for a stream)")
	fl.IntVarP(&f.jobs, "jobs", "j", 2, "job slots per host (an N/ host prefix overrides it)")
	fl.IntVar(&f.retries, "retries", 0, "run a failed job up to N more times, on another host when one is free")
	fl.StringVar(&f.timeout, "timeout", "", "stop a job after this long (30s, 1m) or this share of the median job time (200%)")
	fl.StringVar(&f.halt, "halt", "never", "when failed jobs stop the run: never, now,fail=1, soon,fail=1, now,fail=P%")
	fl.StringVar(&f.journal, "journal", "", "directory that keeps every finished job's output, for --resume")
	fl.BoolVar(&f.resume, "resume", false, "complete an earlier run from --journal (or, in argument mode, skip the jobs --joblog has)")
	fl.BoolVar(&f.resumeFail, "resume-failed", false, "like --resume, but run again the jobs that failed (in argument mode with --joblog)")
	fl.StringVar(&f.workerFile, "worker-file", "", "script to install on each host once and run as the worker, with the rest of the command line as its arguments")
	fl.StringVar(&f.workdir, "workdir", "", "the worker's directory on each host (default: the home directory)")
	fl.BoolVar(&f.args, "args", false, "argument mode: read arguments one per line from standard input (or -a FILE)")
	fl.StringVar(&f.joblog, "joblog", "", "write GNU parallel's job log to FILE")
	fl.StringVar(&f.results, "results", "", "write each job's standard output and error to DIR/SEQ/stdout and DIR/SEQ/stderr")
	fl.BoolVar(&f.tag, "tag", false, "prefix output lines with the argument (argument mode) or the host (block mode) and a tab")
	fl.BoolVar(&f.progress, "progress", false, "show progress on standard error even when it is not a terminal")
	return c
}

// plan is a dproc run after its flags were checked.
type plan struct {
	f       *runFlags
	words   []string // the worker's words
	argMode bool
	jobs    []argJob // argument mode: the jobs to run
	job     dispatch.Job
	opts    dispatch.Options
	block   int64
	line    string       // the worker's line as the user wrote it (with --worker-file, the script's name first)
	watch   *hostWatcher // follows the hostfiles during the run; nil without --hostfile
}

// argJob is one job of argument mode.
type argJob struct {
	seq  int64  // its number among all arguments, from 1
	arg  string // its argument, the combination's values joined by spaces
	vals []string
}

func (a *app) run(ctx context.Context, f *runFlags, words []string) error {
	p, err := a.planRun(f, words)
	if err != nil {
		return err
	}
	nodes, err := a.open()
	if err != nil {
		return err
	}
	defer nodes.Close()
	// A copy the dispatcher keeps: the hostfile watcher adds the slots
	// of the hosts it adds (see hostWatcher.apply).
	slots := make(map[string]int, len(nodes.Slots))
	for h, n := range nodes.Slots {
		slots[h] = n
	}
	p.opts.HostSlots = slots
	d, err := dispatch.New(nodes.Transport, nodes.Hosts, &p.opts)
	if err != nil {
		return fail(err)
	}
	if len(a.nodes.Hostfiles) > 0 {
		p.watch = newHostWatcher(a.nodes, nodes, slots, d, nil)
	}
	return a.execute(ctx, p, d)
}

// planRun checks the flags and the words and builds the job.
func (a *app) planRun(f *runFlags, words []string) (*plan, error) {
	p := &plan{f: f}
	cmdWords, sources, err := splitSources(words)
	if err != nil {
		return nil, err
	}
	p.words = cmdWords
	p.argMode = sources != nil || f.args
	if f.jobs < 1 {
		return nil, usageErrorf("-j %d: need at least 1 slot per host", f.jobs)
	}
	if f.retries < 0 {
		return nil, usageErrorf("--retries %d: must be 0 or more", f.retries)
	}
	p.opts = dispatch.Options{Slots: f.jobs, Retries: f.retries}
	if err := parseTimeout(f.timeout, &p.opts); err != nil {
		return nil, err
	}
	if err := parseHalt(f.halt, &p.opts); err != nil {
		return nil, err
	}
	if p.block, err = parseSize(f.block); err != nil {
		return nil, usageErrorf("--block %q: %v", f.block, err)
	}
	if (f.resume || f.resumeFail) && f.journal == "" && (!p.argMode || f.joblog == "") {
		if p.argMode {
			return nil, usageErrorf("--resume and --resume-failed need --journal DIR or --joblog FILE")
		}
		return nil, usageErrorf("--resume and --resume-failed need --journal DIR")
	}
	if len(cmdWords) == 0 && f.workerFile == "" {
		return nil, usageErrorf("run: no worker command (see dproc help run)")
	}
	line := strings.Join(cmdWords, " ")
	p.line = line
	p.job.Dir = f.workdir
	if f.workerFile != "" {
		data, err := os.ReadFile(f.workerFile)
		if err != nil {
			return nil, usageErrorf("--worker-file: %v", err)
		}
		sum := sha256.Sum256(data)
		base := filepath.Base(f.workerFile)
		rel := ".dproc/bin/" + hex.EncodeToString(sum[:6]) + "-" + base
		p.job.Setup = []transport.File{{Path: rel, Mode: 0o755, Data: data}}
		line = strings.TrimSpace(transport.Quote("./"+rel) + " " + line)
		p.line = strings.TrimSpace(base + " " + p.line)
	}
	if !p.argMode {
		p.job.Shell = line
		p.job.Name = p.line
		return p, nil
	}
	args, err := a.readArgs(f, sources)
	if err != nil {
		return nil, err
	}
	for i, v := range args {
		p.jobs = append(p.jobs, argJob{seq: int64(i + 1), arg: strings.Join(v, " "), vals: v})
	}
	p.job.Shell = argWrapper(line)
	p.job.Name = p.line
	return p, nil
}

// parseTimeout reads --timeout: a duration, seconds, or a percentage of the
// median job time.
func parseTimeout(s string, o *dispatch.Options) error {
	if s == "" {
		return nil
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(pct, 64)
		if err != nil || v <= 0 {
			return usageErrorf("--timeout %q: want a duration (30s), seconds (30) or a percentage (200%%)", s)
		}
		o.TimeoutFactor = v / 100
		return nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v > 0 {
		o.Timeout = time.Duration(v * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return usageErrorf("--timeout %q: want a duration (30s), seconds (30) or a percentage (200%%)", s)
	}
	o.Timeout = d
	return nil
}

// parseHalt reads --halt as GNU parallel writes it.
func parseHalt(s string, o *dispatch.Options) error {
	switch s {
	case "never", "0":
		o.Halt = dispatch.Halt{KeepGoing: true}
		return nil
	case "now,fail=1", "soon,fail=1", "now,fail=1%", "1", "2":
		o.Halt = dispatch.Halt{}
		return nil
	}
	for _, when := range []string{"now,fail=", "soon,fail="} {
		rest, ok := strings.CutPrefix(s, when)
		if !ok {
			continue
		}
		if pct, ok := strings.CutSuffix(rest, "%"); ok {
			v, err := strconv.ParseFloat(pct, 64)
			if err == nil && v > 0 && v < 100 {
				o.Halt = dispatch.Halt{KeepGoing: true, Share: v / 100}
				return nil
			}
		}
	}
	return usageErrorf("--halt %q: want never, now,fail=1, soon,fail=1 or now,fail=P%% (0 < P < 100)", s)
}

// parseSize reads --block: "" is 0, the default; anything else as
// [human.ParseSize] reads it.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return human.ParseSize(s)
}

// execute runs the plan on d and turns the outcome into an exit status.
func (a *app) execute(ctx context.Context, p *plan, d *dispatch.Dispatcher) error {
	f := p.f
	var (
		s      split.Splitter
		labels func(chunk int) string // names a chunk in messages
		cmdOf  func(chunk int) string // the chunk's command, for the joblog
		seqOf  func(chunk int) int64
		sendOf func(chunk int) int64
	)
	sizes := newSizes()
	inStreamed := true
	if p.argMode {
		jobs := p.jobs
		if f.journal == "" && f.joblog != "" && (f.resume || f.resumeFail) {
			var err error
			if jobs, err = skipLogged(f.joblog, jobs, f.resumeFail); err != nil {
				return fail(err)
			}
		}
		s = argSplitter(jobs)
		labels = func(c int) string { return "argument " + strconv.Quote(jobs[c].arg) }
		cmdOf = func(c int) string { return substitute(p.line, jobs[c].vals, true) }
		seqOf = func(c int) int64 { return jobs[c].seq }
		sendOf = func(int) int64 { return 0 }
		p.jobs = jobs
	} else {
		var in *split.Input
		var err error
		if f.input == "" || f.input == "-" {
			in, err = split.NewInput("-", a.stdin, nil)
		} else {
			in, err = split.OpenInput(f.input, nil)
		}
		if err != nil {
			return fail(fmt.Errorf("input: %w", err))
		}
		defer in.Close()
		inStreamed = in.Streamed()
		block := p.block
		if block == 0 {
			if in.Streamed() {
				block = split.DefaultStreamBlockSize
			} else {
				block = split.BlockSizeFor(in.Size(), d.Slots())
			}
		}
		s = sizes.wrap(in.Blocks(block))
		labels = func(c int) string { return "chunk " + strconv.Itoa(c) }
		cmdOf = func(int) string { return p.line }
		seqOf = func(c int) int64 { return int64(c) + 1 }
		sendOf = sizes.get
	}

	var g gather.Gatherer
	if f.output != "" {
		fg, err := gather.File(f.output, nil)
		if err != nil {
			return fail(fmt.Errorf("-o: %w", err))
		}
		g = fg
	} else {
		g = gather.Ordered(a.stdout, nil)
	}
	obs := &observer{
		stderr:  a.stderr,
		label:   labels,
		command: cmdOf,
		seq:     seqOf,
		send:    sendOf,
		argMode: p.argMode,
		tag:     f.tag,
		results: f.results,
	}
	if p.argMode {
		obs.tagOf = func(c int) string { return p.jobs[c].arg }
	}
	if f.joblog != "" {
		appendLog := f.resume || f.resumeFail
		if err := obs.openJoblog(f.joblog, appendLog); err != nil {
			g.Close(0, err)
			return fail(err)
		}
	}
	defer obs.close()
	if f.tag || f.results != "" || f.joblog != "" {
		if f.results != "" {
			if err := os.MkdirAll(f.results, 0o755); err != nil {
				g.Close(0, err)
				return fail(fmt.Errorf("--results: %w", err))
			}
		}
		g = &tapGatherer{inner: g, obs: obs}
	}
	unit, total := "chunks", 0
	if p.argMode {
		unit, total = "jobs", len(p.jobs)
	} else if n, ok := countChunks(ctx, s, inStreamed); ok {
		total = n
	}
	disp, shown := a.newDisplay(f.progress, d.Hosts(), total, unit)
	obs.display = disp
	// While the display is drawn, every message goes through it, so that
	// it appears above the display rather than across it. Otherwise the
	// workers, the observer and the hostfile watcher write from several
	// goroutines: one lock keeps their writes whole.
	var msgs io.Writer = iox.NewLockedWriter(a.stderr)
	if w, ok := disp.(io.Writer); ok {
		msgs = w
	}
	obs.stderr = msgs
	stopWatch := func() {}
	if p.watch != nil {
		p.watch.say = lineSayer(msgs)
		stopWatch = p.watch.start(ctx)
		defer stopWatch() // stopping twice is harmless
	}
	ro := &dispatch.RunOptions{
		Events:  obs.event,
		Stderr:  msgs,
		Journal: f.journal,
		Resume:  f.journal != "" && (f.resume || f.resumeFail),
	}
	if f.tag || f.results != "" {
		ro.StderrFor = obs.stderrFor
	}
	rep, err := d.Run(ctx, &p.job, s, g, ro)
	stopWatch()
	disp.Close()
	if shown && rep != nil {
		writeReport(a.stderr, rep)
	}
	if rep != nil && rep.Unread > 0 {
		a.errorf("warning: the worker left %d bytes of its input unread (chunks %v): it may have stopped early", rep.Unread, rep.UnreadChunks)
	}
	if err == nil {
		a.hostWarnings(rep)
		return nil
	}
	return a.runError(ctx, err, obs)
}

// hostWarnings names, after a run that succeeded without them, the hosts
// that were down when it ended (with their last error) and those whose
// attempts were lost or stalled, one line each: a host that dropped out of
// a run (dead, frozen, refusing connections) is never silent, though its
// work ran elsewhere and the run succeeded.
func (a *app) hostWarnings(rep *dispatch.Report) {
	if rep == nil {
		return
	}
	for _, h := range rep.Hosts {
		switch {
		case h.Retired:
		case h.Down:
			why := "no reason given"
			if h.LastErr != nil {
				why = oneLine(h.LastErr).Error()
			}
			a.errorf("warning: host %s was down when the run ended (%s done there): %s", h.Host, counted(h.Done, "chunk"), why)
		case h.Lost > 0 || h.Stalled > 0:
			var what []string
			if h.Lost > 0 {
				what = append(what, counted(h.Lost, "attempt")+" lost")
			}
			if h.Stalled > 0 {
				what = append(what, counted(h.Stalled, "attempt")+" stalled")
			}
			a.errorf("warning: host %s: %s (%s done there)", h.Host, strings.Join(what, ", "), counted(h.Done, "chunk"))
		}
	}
}

// counted is "1 chunk", "2 chunks": n and the noun, plural unless n is 1.
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// runError prints the errors of a run, one line each, and returns its exit
// status.
func (a *app) runError(ctx context.Context, err error, obs *observer) error {
	if ctx.Err() != nil {
		return &exitError{code: 130}
	}
	var fe *dispatch.FailedChunksError
	if errors.As(err, &fe) {
		refused := false
		for _, ce := range fe.Chunks {
			a.errorf("%s", obs.describe(ce))
			refused = refused || !jobFailure(ce.Err)
		}
		if refused {
			return &exitError{code: exitNoStart}
		}
		if fe.Stopped {
			a.errorf("stopped: more than the --halt share of jobs failed")
		}
		return &exitError{code: joblog.ExitStatus(len(fe.Chunks))}
	}
	var ce *dispatch.ChunkError
	if errors.As(err, &ce) {
		a.errorf("%s", obs.describe(ce))
		if !jobFailure(ce.Err) {
			return &exitError{code: exitNoStart}
		}
		code := 1
		var xe *transport.ExitError
		if errors.As(ce.Err, &xe) && xe.Code > 0 && xe.Code < 255 {
			code = xe.Code
		}
		return &exitError{code: code}
	}
	return fail(oneLine(err))
}

// jobFailure reports whether err is a job's own failure (it exited
// non-zero, was killed, timed out, or left its input unread) rather than a
// host that refused the run (a host key, authentication, a name).
func jobFailure(err error) bool {
	var xe *transport.ExitError
	return errors.As(err, &xe) || errors.Is(err, dispatch.ErrAttemptTimeout) || errors.Is(err, dispatch.ErrUnread)
}

// oneLine puts err's text on one line: its lines joined by "; ", or by a
// space after a line that ends with ':'.
func oneLine(err error) error {
	var b strings.Builder
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteByte(' ')
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	return errors.New(b.String())
}

// countChunks counts the chunks of a splitter over a file in place (which
// reads only a few KiB around each boundary), for the progress bar's total;
// a streamed input is not counted (it would be read twice).
func countChunks(ctx context.Context, s split.Splitter, streamed bool) (int, bool) {
	if streamed {
		return 0, false
	}
	n := 0
	err := s.Split(ctx, func(c split.Chunk) error { n++; c.Release(); return nil })
	return n, err == nil
}
