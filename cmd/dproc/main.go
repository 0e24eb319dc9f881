// Command dproc runs work over many hosts through SSH, for users of GNU
// parallel, pdsh and ClusterShell: it splits an input or a list of arguments
// into jobs (dproc run), runs one command on every host (dproc exec), and
// prepares and watches hosts (dproc sync, setup, status, metrics, hosts).
//
//	dproc run -w 'node[1-3]' -a big.log -o counts.txt 'grep -c ERROR'
//	dproc run -w node1,node2 'gzip -9 < {} > {}.gz' ::: *.csv
//	dproc exec -w 'web[01-10]' -x web07 --fold uptime
//
// With no hosts (-w, --hostfile), every subcommand runs on three local nodes,
// directories under a temporary root whose commands run as local processes,
// so each can be tried without any setup.
//
// # Hosts
//
// -w/--hosts takes node sets ("node[1-3,7],web[01-10]", zero-padding kept),
// each item "[N/][user@]host[:port]", N being the job slots of that host as in
// GNU parallel's sshlogin; --hostfile FILE reads one such list per line, with
// '#' comments; -x/--exclude removes hosts by node set or by pattern ("web*").
// All three may be repeated. Host names are ssh_config aliases (from
// --ssh-config FILE, or ~/.ssh/config) or addresses. Host keys are checked
// against known_hosts; --accept-new records the key of a host seen for the
// first time, and a changed key is always refused.
//
// During dproc run, each --hostfile is watched, as GNU parallel re-reads its
// sshloginfile: twice a second dproc compares the file's modification time,
// size and content with what it saw, and a change that is still there at the
// next look (so that a file caught half written is not taken) is applied
// within about a second. The hosts are chosen again from all the node flags,
// so hosts given with -w stay and -x still applies: a new host is added to the
// run (set up, then it takes jobs at once, with the slots of its N/ prefix or
// -j), and a host no longer named is retired: it takes no new job, its
// running jobs finish, and a failed or lost one runs again elsewhere. One line
// on standard error says what changed ("dproc: hostfile changed: added
// node4, retired node2"), and the per-host report marks a retired host. A
// hostfile that cannot be read, does not parse, or leaves no host keeps the
// current hosts, with one warning line for that state; the file is applied
// again once it is fixed. A changed N/ prefix of a host already in the run is
// not applied (its slots stay). dproc exec, sync, setup, status and metrics
// run once per host named when they start, so they read their hostfiles once.
//
// # dproc run
//
// Block mode: the input, from -a FILE (a regular file is read in place) or
// standard input (streamed), is cut into line-aligned blocks (--block, by
// default about one block per slot for a file and 4 MiB for a stream); each
// block goes to the worker's standard input on a free slot, and the outputs
// are written in input order to standard output, or to -o FILE, which appears
// whole (by rename) only when every block succeeded. The worker is the rest of
// the command line, joined by spaces and run by the host's sh, or
// --worker-file SCRIPT, installed once on each host and run with the rest of
// the command line as its arguments.
//
// Argument mode, as in GNU parallel: "dproc run CMD {} ::: a b c" runs CMD once
// per argument, with {} replaced by the argument as one shell word (an
// argument "$(id)" stays text: it is passed to the worker's shell in a
// variable, never parsed as code); without {} the argument is appended.
// Since {} stands for a quoted word, write it bare, not inside quotes
// ("echo '{}'" prints the shell's name for the word, not the argument).
// ":::: FILE" reads arguments one per line from FILE, and --args reads them
// from standard input (or from -a FILE). Several sources give every
// combination, the first varying slowest, as GNU parallel does. Outputs are
// written in argument order (GNU parallel's -k). The worker's standard input
// is empty.
//
// Failures (--retries, --timeout, --halt) follow GNU parallel: --retries N
// runs a failed job up to N more times, on another host when one is free;
// --timeout is a duration ("30s") or a share of the median job time ("200%");
// --halt is "never" (the default, as in GNU parallel: every job runs and the
// exit status counts the failed ones), "now,fail=1" or "soon,fail=1" (stop at
// the first failed job; both stop the jobs under way, since a failed run's
// output is discarded anyway), or "now,fail=P%" (stop once more than P% of the
// jobs seen so far failed). A lost host is not a failure: its jobs run again
// elsewhere while it is probed. A run that succeeds without some hosts still
// names each of them once on standard error: "dproc: warning: host H was
// down when the run ended (N chunks done there): REASON" for a host that
// refused, broke or failed its probe, and "dproc: warning: host H: N
// attempts lost, M attempts stalled (K chunks done there)" for one whose
// attempts were lost or stalled (frozen, or silent and slow to answer). A host
// given to a run that ends before any job reaches it is not contacted, so a
// mistyped name there goes unnoticed ("dproc exec -w LIST true" tries every
// host).
//
// --journal DIR keeps every finished job's output on disk, so that a run that
// was stopped, killed or had failed jobs can be completed with --resume (or
// --resume-failed: with a journal both run exactly the jobs that failed or
// never ran, and give the same output as one uninterrupted run). In argument
// mode without --journal, --resume and --resume-failed read --joblog FILE as
// GNU parallel does: --resume skips every job the log has, --resume-failed
// skips the jobs whose last line succeeded; the log is appended to.
//
// # Logs for scripts
//
// --joblog FILE writes GNU parallel's job log (tab-separated Seq, Host,
// Starttime, JobRuntime, Send, Receive, Exitval, Signal, Command; one line per
// finished job, in finish order; a retried job's last attempt only). Seq is the
// job's number from 1 in input order; Send is the block's size in block mode
// and 0 in argument mode, as in GNU parallel; Exitval is -1 for a job that
// timed out. --results DIR writes each job's standard output and standard
// error to DIR/SEQ/stdout and DIR/SEQ/stderr (and its command to DIR/SEQ/cmd):
// by seq rather than GNU parallel's DIR/1/VALUE/ layout, so that no argument
// ("..", "a/b", a newline) can make a path. Outputs still go to standard output
// too. --tag prefixes each line of output, standard error included, with the
// argument (argument mode) or the host (block mode) and a tab.
//
// # dproc exec
//
// One command on every host, at most --fanout at a time. Lines are printed as
// they arrive, prefixed "host: " (standard error likewise, on standard
// error), as pdsh and clush print them. --fold waits for every host and prints
// each distinct output once under the node set of the hosts that gave it, as
// "clubak -b" does, with a host's exit status in its block's header when it
// failed. Folding is not the default on a terminal: a command that runs for a
// while would show nothing until the last host ends, and a user who pipes the
// output into grep would see another format than on the screen; --fold is one
// flag away. Each failed host gets a line on standard error
// ("dproc: node2: exit status 3"), then a summary naming the failed hosts as
// a node set.
//
// # Exit status
//
//   - 0: every job (host) succeeded.
//   - 1 to 100: that many jobs failed (dproc run under --halt never; hosts for
//     exec, sync, setup and status); 101: more than 100 failed, as GNU parallel
//     says. Under --halt now,fail=1, the failed job's own exit status.
//     Two failed jobs and a bad command line both give 2, as the conventions
//     ask; the usage error alone ends with "Run 'dproc --help' for usage."
//     on standard error, and --joblog tells the jobs apart.
//   - 2: a bad command line (an unknown flag, a bad host list, a missing
//     argument), with a message on standard error.
//   - 130 after SIGINT, 143 after SIGTERM: the running jobs are stopped on
//     their hosts, and an -o file is not written. A second signal exits at once.
//   - 255: the run could not start or could not go on for a reason that is not
//     a failed job: no host could be reached, a host key was refused, an input
//     could not be read, a journal did not match.
//
// Errors go to standard error, one line each, naming the host, the chunk or
// argument, and the command.
//
// # Choices
//
// The command line is parsed with github.com/spf13/cobra and
// github.com/spf13/pflag (v1.10.2 and v1.1.0). All three candidates, cobra,
// kong and urfave/cli v3, are maintained, released in the last year and
// permissively licensed; cobra was chosen for what it gives without code of
// our own: GNU-style long and short flags (-j 4, --jobs=4, -w/--hosts),
// subcommands with "dproc help CMD", per-command flag sets that stop at the
// worker's first word (pflag's SetInterspersed(false), so "dproc run grep -c
// x" passes -c to grep, and ":::" reaches us as a plain word), and shell
// completion scripts ("dproc completion bash"). It is also the library most
// Go users have met (kubectl, gh, hugo use it), and costs two small modules
// (plus mousetrap, compiled on Windows only) with no further dependencies.
// kong builds the command from struct tags by reflection, which fits fixed
// flag sets better than a command line that carries another command's words.
// Only cmd/ imports them; the library packages do not.
//
// Job slots: -j N is per host, as GNU parallel's -j; an N/ prefix in a host
// list overrides it for that host. The default is 2 (the library's): one job
// travels while another computes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"dproc/internal/nodeflags"
)

// version is what --version prints; set with -ldflags "-X main.version=...".
var version = "devel"

// Exit statuses other than counts of failed jobs.
const (
	exitUsage   = 2
	exitNoStart = 255
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigc := make(chan os.Signal, 2)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	var got atomic.Value
	go func() {
		s := <-sigc
		got.Store(s)
		cancel()
		s = <-sigc
		os.Exit(signalStatus(s))
	}()
	rc := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if s, ok := got.Load().(os.Signal); ok {
		fmt.Fprintln(os.Stderr, "dproc: interrupted")
		rc = signalStatus(s)
	}
	os.Exit(rc)
}

// signalStatus is the exit status after signal s: 128+N, as shells report.
func signalStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

// exitError carries an exit status out of a subcommand. Err, when not nil,
// is printed one line per line of its text, each prefixed "dproc: ".
type exitError struct {
	code  int
	err   error
	usage bool // a bad command line: point to --help
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a bad command line: exit status 2.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...), usage: true}
}

// fail reports a run that could not start or go on: exit status 255, or 2
// when err is about the node flags.
func fail(err error) error {
	if errors.Is(err, nodeflags.ErrUsage) {
		return &exitError{code: exitUsage, err: err, usage: true}
	}
	return &exitError{code: exitNoStart, err: err}
}

// app is one invocation: its streams and the flags every subcommand shares.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	nodes          nodeflags.Flags
}

// Main runs dproc with args (without the program name) and returns its exit
// status. Cancelling ctx stops it as SIGINT does.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		// cobra's own: an unknown command or flag, a wrong argument count.
		a.errorf("%v", err)
		fmt.Fprintln(stderr, "Run 'dproc --help' for usage.")
		return exitUsage
	}
	if ee.err != nil {
		a.errorf("%v", ee.err)
	}
	if ee.usage {
		fmt.Fprintln(stderr, "Run 'dproc --help' for usage.")
	}
	return ee.code
}

// errorf prints a message on standard error, each line prefixed "dproc: ".
func (a *app) errorf(format string, args ...any) {
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	var b strings.Builder
	for _, line := range strings.Split(msg, "\n") {
		b.WriteString("dproc: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	io.WriteString(a.stderr, b.String())
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dproc",
		Short: "Run work over many hosts through SSH",
		Long: `dproc splits an input or a list of arguments into jobs and runs them on many
hosts over SSH (run), runs one command on every host (exec), and prepares
and watches hosts (sync, setup, status, metrics, hosts).

With no -w or --hostfile, every subcommand runs on three local nodes.`,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s: %v", c.CommandPath(), err)
	})
	pf := root.PersistentFlags()
	pf.VarP(&a.nodes.Hosts, "hosts", "w", "hosts as node sets: node[1-3,7],[N/][user@]host[:port] (repeatable)")
	pf.VarP(&a.nodes.Exclude, "exclude", "x", "hosts to leave out: node sets or patterns with * and ? (repeatable)")
	pf.Var(&a.nodes.Hostfiles, "hostfile", "file of hosts, one [N/][user@]host[:port] list per line, # comments (repeatable)")
	pf.StringVar(&a.nodes.SSHConfig, "ssh-config", "", "ssh_config file for the hosts (default ~/.ssh/config)")
	pf.BoolVar(&a.nodes.AcceptNew, "accept-new", false, "record the host key of a host seen for the first time (a changed key is always refused)")
	pf.BoolVar(&a.nodes.PerCmd, "session-per-command", false, nodeflags.SessionUsage)
	pf.BoolVar(&a.nodes.Local, "local", false, "take the hosts as local nodes (directories under --root), not SSH hosts")
	pf.StringVar(&a.nodes.Root, "root", "", "directory of the local nodes (default: a temporary directory, removed at exit)")
	root.AddCommand(a.runCommand(), a.execCommand(), a.syncCommand(), a.setupCommand(),
		a.statusCommand(), a.metricsCommand(), a.hostsCommand())
	return root
}

// open opens the nodes the flags name.
func (a *app) open() (*nodeflags.Nodes, error) {
	n, err := a.nodes.Open()
	if err != nil {
		return nil, fail(err)
	}
	return n, nil
}
