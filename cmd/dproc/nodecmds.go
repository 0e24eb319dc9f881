package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dproc/internal/hostsel"
	"dproc/internal/joblog"
	"dproc/metrics"
	"dproc/nodeops"
)

func createFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
}

// hostFailures prints one line per failed host and a summary, and returns
// the exit status for them.
func (a *app) hostFailures(op string, hosts []string, errs map[string]error) error {
	var failed []string
	for _, h := range hosts {
		if err := errs[h]; err != nil {
			failed = append(failed, h)
			a.errorf("%s: %s: %v", h, op, oneLine(err))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	a.errorf("%d of %d hosts failed: %s", len(failed), len(hosts), hostsel.Fold(failed))
	return &exitError{code: joblog.ExitStatus(len(failed))}
}

func (a *app) syncCommand() *cobra.Command {
	var opts nodeops.SyncOptions
	c := &cobra.Command{
		Use:   "sync [flags] SRC DST",
		Short: "Make DST on every host a copy of the local directory SRC (like rsync -a)",
		Long: `Make the directory DST on every host a copy of the local directory SRC, as
"rsync -a SRC/ host:DST/" does: only changed files travel (by size and time,
or by checksum with --checksum), modes, times and symbolic links are kept, and
entries SRC does not have are removed only with --delete. A relative DST is
under the home directory.`,
		Example: `  dproc sync -w 'node[1-3]' ./scripts work/scripts`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The source is the same for every host: a missing one is
			// said once, before any host is contacted.
			if st, err := os.Stat(args[0]); err != nil {
				return fail(fmt.Errorf("sync: source: %w", err))
			} else if !st.IsDir() {
				return fail(fmt.Errorf("sync: source %q is not a directory", args[0]))
			}
			nodes, err := a.open()
			if err != nil {
				return err
			}
			defer nodes.Close()
			res := nodeops.SyncAll(cmd.Context(), nodes.Transport, nodes.Hosts, args[0], args[1], &opts)
			errs := map[string]error{}
			var refused []string
			for _, r := range res {
				if errors.Is(r.Err, nodeops.ErrDangerousDelete) {
					refused = append(refused, r.Host)
					continue
				}
				if r.Err != nil {
					errs[r.Host] = r.Err
					continue
				}
				v := r.Value
				fmt.Fprintf(a.stdout, "%s: %d sent (%d bytes), %d unchanged, %d deleted, %d dirs made\n",
					r.Host, v.FilesSent, v.BytesSent, v.Unchanged, v.FilesDeleted, v.DirsCreated)
			}
			if cmd.Context().Err() != nil {
				return &exitError{code: 130}
			}
			if len(refused) > 0 {
				// One line for what is one mistake on every host.
				a.errorf("%s: sync --delete onto %q refused: it names the home directory or /, where deleting what %s lacks would remove everything else (.ssh too); nothing was deleted; --allow-dangerous-delete allows it",
					hostsel.Fold(refused), args[1], args[0])
			}
			err = a.hostFailures("sync to "+strconv.Quote(args[1]), nodes.Hosts, errs)
			if len(refused) > 0 {
				err = &exitError{code: joblog.ExitStatus(len(refused) + len(errs))}
			}
			return err
		},
	}
	c.Flags().BoolVar(&opts.AllowDangerousDelete, "allow-dangerous-delete", false, "let --delete remove entries from the home directory itself or from /")
	c.Flags().BoolVar(&opts.Delete, "delete", false, "remove entries of DST that SRC does not have")
	c.Flags().BoolVar(&opts.Checksum, "checksum", false, "compare files by SHA-256 rather than size and time")
	c.Flags().IntVar(&opts.Parallel, "fanout", 8, "hosts synced at once")
	return c
}

func (a *app) setupCommand() *cobra.Command {
	var parallel int
	c := &cobra.Command{
		Use:   "setup [flags] DIR FILE...",
		Short: "Install files into DIR on every host, sending only what changed",
		Long: `Make the directory DIR on every host and install each FILE in it under its
base name, with its mode; a file whose content is already there is not sent
again. A relative DIR is under the home directory.`,
		Example: `  dproc setup -w 'node[1-3]' work ./count.sh ./lookup.tsv`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var files []nodeops.File
			for _, p := range args[1:] {
				data, err := os.ReadFile(p)
				if err != nil {
					return fail(err)
				}
				st, err := os.Stat(p)
				if err != nil {
					return fail(err)
				}
				files = append(files, nodeops.File{Path: filepath.Base(p), Mode: st.Mode().Perm(), Data: data})
			}
			nodes, err := a.open()
			if err != nil {
				return err
			}
			defer nodes.Close()
			res := nodeops.Setup(cmd.Context(), nodes.Transport, nodes.Hosts, args[0], files, &nodeops.SetupOptions{Parallel: parallel})
			errs := map[string]error{}
			for _, r := range res {
				if r.Err != nil {
					errs[r.Host] = r.Err
					continue
				}
				fmt.Fprintf(a.stdout, "%s: sent %s; unchanged %s\n", r.Host, list(r.Value.Sent), list(r.Value.Skipped))
			}
			if cmd.Context().Err() != nil {
				return &exitError{code: 130}
			}
			return a.hostFailures("setup "+args[0], nodes.Hosts, errs)
		},
	}
	c.Flags().IntVar(&parallel, "fanout", 8, "hosts set up at once")
	return c
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

func (a *app) statusCommand() *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "status",
		Short: "Show each host's kernel, uptime, load, memory and filesystems",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			nodes, err := a.open()
			if err != nil {
				return err
			}
			defer nodes.Close()
			st := metrics.Status(cmd.Context(), nodes.Transport, nodes.Hosts, &metrics.StatusOptions{Timeout: timeout})
			if err := metrics.WriteStatusTable(a.stdout, st); err != nil {
				return fail(err)
			}
			if cmd.Context().Err() != nil {
				return &exitError{code: 130}
			}
			errs := map[string]error{}
			for _, s := range st {
				if s.Err != nil {
					errs[s.Host] = s.Err
				}
			}
			return a.hostFailures("status", nodes.Hosts, errs)
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up on a host after this long")
	return c
}

func (a *app) metricsCommand() *cobra.Command {
	var (
		interval time.Duration
		count    int
		out      string
	)
	c := &cobra.Command{
		Use:   "metrics",
		Short: "Sample CPU, memory and disk use of every host as CSV",
		Long: `Sample every host's CPU, memory and disk use each --interval and write one
CSV row per host and sample (timestamp, node, cpu, memory, io,
read_bytes_per_s, write_bytes_per_s) to standard output or -o FILE, until
--count samples per host were taken (0: until interrupted).`,
		Example: `  dproc metrics -w 'node[1-3]' --interval 5s -o load.csv`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if count < 0 {
				return usageErrorf("--count %d: must be 0 or more", count)
			}
			var w io.Writer = a.stdout
			if out != "" {
				file, err := createFile(out)
				if err != nil {
					return fail(err)
				}
				defer file.Close()
				w = file
			}
			nodes, err := a.open()
			if err != nil {
				return err
			}
			defer nodes.Close()
			s, err := metrics.NewSampler(nodes.Transport, nodes.Hosts, &metrics.SamplerOptions{Interval: interval, Count: count})
			if err != nil {
				return fail(err)
			}
			cw := metrics.NewCSVWriter(w)
			var werr error
			err = s.Run(cmd.Context(), func(smp metrics.Sample) {
				if smp.Err != nil {
					a.errorf("%s: metrics: %v", smp.Host, oneLine(smp.Err))
					return
				}
				if werr == nil {
					werr = cw.Write(smp)
				}
			})
			if ferr := cw.Flush(); werr == nil {
				werr = ferr
			}
			if cmd.Context().Err() != nil {
				return &exitError{code: 130}
			}
			if werr != nil {
				return fail(werr)
			}
			if err != nil {
				return &exitError{code: 1, err: oneLine(err)}
			}
			return nil
		},
	}
	c.Flags().DurationVar(&interval, "interval", time.Second, "time between samples")
	c.Flags().IntVar(&count, "count", 0, "samples per host (0: until interrupted)")
	c.Flags().StringVarP(&out, "output", "o", "", "write the CSV to FILE (default: standard output)")
	return c
}

func (a *app) hostsCommand() *cobra.Command {
	var resolve, folded bool
	c := &cobra.Command{
		Use:   "hosts",
		Short: "List the hosts a selection names, one per line",
		Long: `List the hosts that -w, --hostfile and -x select, one per line, as
[N/][user@]host[:port]; --fold prints them as one node set, and --resolve
prints what each SSH host resolves to through ssh_config (host name, user,
port, keys, jumps, known_hosts files) without connecting.`,
		Example: `  dproc hosts -w 'node[1-3,7],web[01-03]' -x web02
  dproc hosts -w myalias --resolve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := a.nodes.Select()
			if err != nil {
				return fail(err)
			}
			var names []string
			if sel == nil {
				nodes, err := a.open()
				if err != nil {
					return err
				}
				names = nodes.Hosts
				nodes.Close()
				if resolve {
					return usageErrorf("--resolve needs SSH hosts (-w or --hostfile)")
				}
			}
			for _, h := range sel {
				names = append(names, h.String())
			}
			if folded {
				fmt.Fprintln(a.stdout, hostsel.Fold(names))
				return nil
			}
			if !resolve || a.nodes.Local {
				for _, n := range names {
					fmt.Fprintln(a.stdout, n)
				}
				return nil
			}
			nodes, err := a.open()
			if err != nil {
				return err
			}
			defer nodes.Close()
			errs := map[string]error{}
			for _, h := range nodes.Hosts {
				s, err := nodes.SSH.Resolve(h)
				if err != nil {
					errs[h] = err
					continue
				}
				fmt.Fprintf(a.stdout, "%s\n", h)
				var b strings.Builder
				s.WriteTo(&b)
				for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
					fmt.Fprintf(a.stdout, "  %s\n", l)
				}
			}
			return a.hostFailures("resolve", nodes.Hosts, errs)
		},
	}
	c.Flags().BoolVar(&resolve, "resolve", false, "print each host's SSH settings, as ssh -G would, without connecting")
	c.Flags().BoolVar(&folded, "fold", false, "print the hosts as one node set")
	return c
}

var _ = context.Background
