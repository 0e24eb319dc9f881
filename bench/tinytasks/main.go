// Command tinytasks runs N tiny tasks over SSH nodes with dproc, one item
// per chunk: each task is the shell line `read -r n && echo "$n"` fed its item
// on standard input, the dproc equivalent of `seq N | parallel -S nodes echo`.
// It writes the outputs to standard output in item order and the wall time of
// the run (connections included) to standard error.
//
//	tinytasks -nodes node1,node2,node3 -ssh-config FILE [-n 300] [-slots 8]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/cli"
	"dproc/split"
	"dproc/transport/sshtransport"
)

func main() { cli.Main("tinytasks", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tinytasks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.String("nodes", "node1,node2,node3", "comma-separated SSH hosts")
	cfg := fs.String("ssh-config", "", "ssh_config file (default: ~/.ssh/config)")
	n := fs.Int("n", 300, "number of tasks")
	slots := fs.Int("slots", 8, "tasks run at once on each node")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	perCmd := fs.Bool("session-per-command", false, "give every task a session of its own (sshtransport.Options.SessionPerCommand)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return errors.New("-n must be at least 1")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	t, err := sshtransport.New(&sshtransport.Options{ConfigFile: *cfg, SessionPerCommand: *perCmd})
	if err != nil {
		return err
	}
	defer t.Close()
	d, err := dispatch.New(t, strings.Split(*nodes, ","), &dispatch.Options{Slots: *slots})
	if err != nil {
		return err
	}
	items := make([]string, *n)
	for i := range items {
		items[i] = strconv.Itoa(i + 1)
	}
	w := bufio.NewWriter(stdout)
	job := &dispatch.Job{Shell: `read -r n && echo "$n"`}
	rep, err := d.Run(ctx, job, split.Items(items, 1, nil), gather.Ordered(w, nil), nil)
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tinytasks: %d tasks on %d nodes in %.3fs (dispatch %.3fs)\n",
		rep.Chunks, len(rep.Hosts), time.Since(start).Seconds(), rep.Elapsed.Seconds())
	return nil
}
