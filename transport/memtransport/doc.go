// Package memtransport is an in-memory [transport.Transport] for tests and
// examples: hosts are values in a map, their files are byte slices, their
// commands are Go functions, and a test can script every fault a real
// network or host produces (refused connections, lost hosts, frozen hosts,
// slow links, streams cut half way) at a precise, deterministic point.
//
// It plays the part gocloud's memblob plays for blob storage and
// net/http/httptest for HTTP: dispatchers, gatherers and every package's
// Examples run on it without any host, and it passes the same conformance
// suite ([dproc/transport/transporttest]) as the SSH and local transports.
//
//	tr := memtransport.New(&memtransport.Options{Hosts: []string{"node1", "node2"}})
//	tr.Handle("worker", func(ctx context.Context, p *memtransport.Process) int {
//		_, err := io.Copy(p.Stdout, p.Stdin)
//		if err != nil {
//			return 1
//		}
//		return 0
//	})
//	tr.Host("node2").FailNext(1, nil) // node2's next call is lost
//
// # Hosts and files
//
// A host exists once added with [Transport.AddHost] (or [Options].Hosts);
// calls for any other name fail with [transport.ErrUnknownHost]. Each host
// has its own file system in memory: files with content and permission bits,
// and directories. Paths are cleaned; a relative path (in Put, Get,
// Command.Dir, the Host file methods) is resolved against the host's home
// directory, "/home/<name>", which exists from the start. Command.Dir must
// name an existing directory, else the command exits with status 2 as a
// shell's failed cd does.
//
// [Transport.Share] makes another Transport reaching the same hosts (files,
// faults, counters and registered commands in common) with a Close of its
// own, as a second client of the same machines; the conformance harness
// uses it to hand out a fresh Transport per subtest.
//
// Put is atomic: the data becomes visible at once, and only when the reader
// reached EOF without error and the call was not stopped. It creates missing
// parent directories and keeps the mode (0 means 0644). Tests read and write
// files directly with [Host.WriteFile], [Host.ReadFile], [Host.Stat],
// [Host.Remove], [Host.MkdirAll] and [Host.Files]; those are not calls on
// the host, so faults and counters do not apply to them. Files survive
// [Host.Kill], as on a disk. Files have modification times and may be
// symbolic links; directories have modes and times. The Transport implements
// [transport.Tree] natively, so the node operations (dproc/nodeops) work on
// it without a shell, with [Transport.ListTree] as the way for a test to see
// a whole tree. Paths given to Put, Get, Remove, Checksum and Command.Dir are
// relative to the home when not absolute, and "~" and "~/x" name the home
// and its entry x; "~user" is an error matching [transport.ErrInvalid].
//
// Every error of a call is an [*transport.OpError] naming the operation, the
// host and the path; a command that exits non-zero is one wrapping the
// [*transport.ExitError], whose message it takes as its own.
// Being in memory, a file's whole content is held
// in memory: keep test data to what a test needs.
//
// # Commands
//
// A command is a [Func] that gets a [Process] (its arguments, directory,
// environment, streams and the host's files) and returns an exit status. For
// a Command with Args, Run looks for, in order:
//
//  1. a Func registered with [Host.Handle] or [Transport.Handle] under
//     Args[0] exactly;
//  2. "sh -c LINE", run as the Shell line LINE (below);
//  3. for a name with a slash (./worker.sh, /usr/bin/tool): the file must
//     exist on the host (else status 127) with an execute bit (else status
//     126), and then runs what its base name (worker.sh, tool) names: a
//     registered Func or a builtin;
//  4. a builtin of that name.
//
// For a Command with Shell, Run looks for a Func registered under the whole
// line, byte for byte. Failing that, a line that is a simple command (words
// with quotes and backslashes, and no expansion, redirection, pipeline, list
// or assignment) runs as the argument vector of its words, so that
// "tr a-z A-Z" or "cat 'my file'" work; "exit N" exits with status N. Any
// other line, and any program not found, exits with status 127 after writing
// "NAME: command not found" to standard error, so that Run returns an
// [*transport.ExitError] for which errors.Is(err,
// [transport.ErrCommandNotFound]) holds. Tests register the shell lines they
// need, such as "cat >&2", with Handle.
//
// # Builtins
//
// Unless [Options].DisableBuiltins is set, every host has these commands,
// with POSIX (and GNU coreutils) behaviour for the options listed:
//
//	true, false
//	cat [FILE|-]...         standard input, or the files
//	echo [-n] ARG...        no escape processing
//	printf FORMAT [ARG...]  %s %d %%, escapes \n \t \r \\ \0NNN; the format is reused for the remaining arguments
//	sleep SECONDS...        honours the context (suffixes s, m, h)
//	pwd
//	printenv [NAME...]      status 1 if a NAME is unset
//	head [-c N | -n N] [FILE]
//	stat -c FORMAT FILE...  %a (octal mode), %s, %n, %F, %%
//	tr [-d] SET1 [SET2]     ranges (a-z), [:lower:] [:upper:] [:digit:] [:space:] [:alpha:] [:alnum:]
//	wc [-lwc] [FILE...]
//	rm [-fr] PATH...
//	mkdir [-p] DIR...
//	sha256sum [FILE|-]...
//
// A Func registered under one of these names replaces the builtin.
//
// # Run
//
// Command.Stdin is copied to the process through a pipe: the process sees
// end of file when Stdin ends. What the process writes to its Stdout and
// Stderr goes straight through to Command.Stdout and Command.Stderr (one
// lock guards both when they are the same writer), and the last
// [transport.TailSize] bytes of standard error are kept for the
// [*transport.ExitError]. Once Run returns, the process's writes fail.
//
// Every error, an [*transport.ExitError] included, is wrapped in a
// [*transport.OpError] naming the operation and host. When the context
// ends, Run cancels the Func's context and returns at once with an error for
// which errors.Is(err, ctx.Err()) holds; Close does the same with
// [transport.ErrClosed], and Close waits for the calls it stopped to
// return. As with os/exec, Run waits for the copy of Command.Stdin to end
// once the process has exited, so no Read of Command.Stdin runs after Run
// returned; a Command.Stdin whose Read blocks forever then holds Run until
// its context ends or the Transport is closed. With Command.Unread set, Run
// then reads the rest of Command.Stdin to its end and stores the count: the
// pipe holds nothing, so that is exactly what the process did not read.
//
// # Faults
//
// Each [Host] has controls a test may use at any time, also while calls run:
//
//   - [Host.FailNext]: the next N calls fail at once with a lost error.
//   - [Host.SetDown]: the host refuses connections ([ErrDown]).
//   - [Host.Hang]: the host freezes: new calls and the streams of running
//     ones block until it thaws or their context ends.
//   - [Host.SetLatency] and [Host.SetBandwidth]: a slow host or link.
//   - [Host.Kill] and [Host.Revive]: the host dies ([ErrKilled]): running
//     commands end without an exit status; [Host.DieAfter] kills it once
//     commands have read N bytes of input.
//   - [Host.CutAfter]: the next Run's output stream is cut after N bytes
//     ([ErrCut]); the bytes before the cut were written to Command.Stdout
//     and must be discarded by the caller, as after any failed Run.
//
// Every fault error wraps [transport.ErrLost], so [transport.IsLost] holds,
// and one of the package's sentinels, so a test can tell them apart. To
// inject a fault while a command runs, wait for it with
// [Host.WaitRunning], or let the command's Func do it (its
// [Process.Control] is the host's handle).
//
// # Counters
//
// [Host.Stats] counts a host's calls (all, and Run, Put, Get apart), the
// bytes sent to it (standard input read, Put data) and from it (output
// written, Get data), and the calls that failed, and among those the lost
// ones. [Transport.Stats] sums all hosts.
//
// # Concurrency
//
// A Transport and its Hosts are safe for concurrent use. Each Run's Func
// runs in its own goroutine; Funcs for the same host run concurrently,
// without limit.
package memtransport
