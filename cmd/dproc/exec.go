package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"dproc/internal/fold"
	"dproc/internal/hostsel"
	"dproc/internal/joblog"
	"dproc/nodeops"
	"dproc/transport"
)

type execFlags struct {
	fold    bool
	fanout  int
	timeout time.Duration
	joblog  string
}

func (a *app) execCommand() *cobra.Command {
	f := &execFlags{}
	c := &cobra.Command{
		Use:   "exec [flags] CMD...",
		Short: "Run one command on every host, pdsh style",
		Long: `Run CMD (its words joined by spaces, run by each host's sh) on every host.
Lines are printed as they arrive, prefixed "host: "; with --fold, each
distinct output is printed once under the node set of the hosts that gave it.
Each failed host is reported on standard error, and the exit status is the
number of failed hosts (101 for more than 100).`,
		Example: `  dproc exec -w 'node[1-3]' uptime
  dproc exec -w 'web[01-10]' -x web07 --fold 'cat /etc/os-release'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.exec(cmd.Context(), f, strings.Join(args, " "))
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.BoolVar(&f.fold, "fold", false, "gather the outputs and print each distinct one once, under its hosts' node set")
	fl.IntVarP(&f.fanout, "fanout", "f", 32, "hosts running the command at once")
	fl.DurationVar(&f.timeout, "timeout", 0, "stop the command on a host after this long (0: no limit)")
	fl.StringVar(&f.joblog, "joblog", "", "write GNU parallel's job log to FILE, one line per host")
	return c
}

// hostOutcome is what the command did on one host.
type hostOutcome struct {
	out    bytes.Buffer
	start  time.Time
	dur    time.Duration
	status string // "" for success
}

func (a *app) exec(ctx context.Context, f *execFlags, line string) error {
	if f.fanout < 1 {
		return usageErrorf("--fanout %d: need at least 1", f.fanout)
	}
	var log *joblog.Writer
	if f.joblog != "" {
		file, err := createFile(f.joblog)
		if err != nil {
			return fail(fmt.Errorf("--joblog: %w", err))
		}
		defer file.Close()
		if log, err = joblog.NewWriter(file); err != nil {
			return fail(fmt.Errorf("--joblog: %w", err))
		}
	}
	nodes, err := a.open()
	if err != nil {
		return err
	}
	defer nodes.Close()
	hosts := nodes.Hosts
	outP := fold.NewPrefixer(a.stdout, ": ")
	errP := fold.NewPrefixer(a.stderr, ": ")
	var mu sync.Mutex
	res := nodeops.Each(ctx, hosts, f.fanout, func(ctx context.Context, host string) (*hostOutcome, error) {
		o := &hostOutcome{start: time.Now()}
		if f.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.timeout)
			defer cancel()
		}
		ew := errP.Writer(host)
		cmd := &transport.Command{Shell: line, Stderr: ew}
		var ow *fold.LineWriter
		if f.fold {
			cmd.Stdout = &o.out
		} else {
			ow = outP.Writer(host)
			cmd.Stdout = ow
		}
		err := nodes.Transport.Run(ctx, host, cmd)
		o.dur = time.Since(o.start)
		if ow != nil {
			ow.Close()
		}
		ew.Close()
		if err != nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v: %w", f.timeout, err)
		}
		o.status = statusOf(err)
		if log != nil {
			ev, sig := 0, 0
			if err != nil {
				ev, sig = exitOf(err)
			}
			mu.Lock()
			seq := int64(indexOf(hosts, host) + 1)
			log.Write(joblog.Entry{Seq: seq, Host: host, Start: o.start, Runtime: o.dur,
				Receive: int64(o.out.Len()), Exitval: ev, Signal: sig, Command: line})
			mu.Unlock()
		}
		return o, err
	})
	if ctx.Err() != nil {
		return &exitError{code: 130}
	}
	if f.fold {
		results := make([]fold.Result, len(res))
		for i, r := range res {
			results[i] = fold.Result{Host: r.Host, Output: r.Value.out.Bytes(), Status: r.Value.status}
		}
		if err := fold.Write(a.stdout, results); err != nil {
			return fail(err)
		}
	}
	var failed []string
	for _, r := range res {
		if r.Err != nil {
			failed = append(failed, r.Host)
			a.errorf("%s: %s: %s", r.Host, line, describeHostErr(r.Err))
		}
	}
	if len(failed) > 0 {
		a.errorf("%d of %d hosts failed: %s", len(failed), len(hosts), hostsel.Fold(failed))
		return &exitError{code: joblog.ExitStatus(len(failed))}
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// statusOf is a host's status in folded output: "" for success.
func statusOf(err error) string {
	var xe *transport.ExitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &xe) && xe.Signal != "":
		return "killed by signal " + xe.Signal
	case errors.As(err, &xe):
		return fmt.Sprintf("exit %d", xe.Code)
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case transport.IsLost(err):
		return "unreachable"
	}
	return "error"
}

// describeHostErr is the reason a host failed, on one line.
func describeHostErr(err error) string {
	var xe *transport.ExitError
	switch {
	case errors.As(err, &xe) && xe.Signal != "":
		return "killed by signal " + xe.Signal
	case errors.As(err, &xe):
		return fmt.Sprintf("exit status %d", xe.Code)
	}
	return oneLine(err).Error()
}
