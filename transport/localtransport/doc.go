// Package localtransport is a [transport.Transport] whose hosts are
// directories on this machine and whose commands are local processes. It
// runs the same pipelines as the SSH transport without any network, for
// tests, benchmarks and single-machine runs.
//
// # Hosts
//
// A host is a directory directly under the root given to [New]; the
// directory is the host's home. Any directory there is a host, whether it was
// made by [Transport.AddHost], by [Options.Hosts] or by anything else, and a
// name with no directory is reported with an error that matches
// [transport.ErrUnknownHost]. Host names must be non-empty, hold no '/' and
// no NUL byte, and be neither "." nor ".."; other names match
// [transport.ErrInvalid].
//
// Relative paths given to Put, Get, Remove, Checksum and Command.Dir are
// resolved against the host's home, and "~" and "~/x" name the home and its
// entry x ("~user" is an error matching [transport.ErrInvalid]), as
// [transport.HomeRel] reads them. Absolute paths are used as they are, so
// they are shared by all hosts: hosts are isolated only as far as callers
// use relative paths.
//
// Ping succeeds when the host's directory exists; an unknown host is an
// error matching [transport.ErrUnknownHost], never [transport.ErrLost]. A
// local host cannot be lost: no call of this transport reports ErrLost
// except a command that could not be started for a reason other than its
// absence.
//
// # Commands
//
// An argument vector is run directly with os/exec, with no shell in between,
// so arguments need no quoting. A program name without a slash is looked up
// in the PATH of the command's environment (so Command.Env can change it); a
// name with a slash is relative to the working directory. A Shell line runs
// as /bin/sh -c LINE (see [Options.Shell]).
//
// The environment is this process's, then HOME set to the host's home and
// [TokenEnv] set to the Transport's token (see below), then Command.Env; a
// later entry wins. With HOME set, a shell line that writes
// ~/processing writes it in the host's home, as it would over SSH.
//
// Failures that a remote shell would report with an exit status are reported
// the same way, as a [*transport.ExitError] with a message on standard error:
// a missing program exits 127, a program that cannot be executed 126, and a
// missing working directory 2. A process killed by a signal reports the
// signal's name ("KILL", "TERM", ...) and status 128+n. The last
// [transport.TailSize] bytes of standard error are kept in the ExitError even
// when Command.Stderr is set.
//
// # Process groups and cancellation
//
// Each command leads a process group of its own. When the context of Run ends
// or the Transport is closed, the whole group is killed with SIGKILL, so the
// children of a shell line (sleep 100 | cat) die with it. A descendant that
// leaves the group, or a background child that keeps standard output open
// after the command exits, is waited for at most 5 seconds.
//
// When the command exits by itself, Run waits for a Read of Command.Stdin in
// progress to return before it returns, however long that takes, so that
// the caller may reuse the reader at once; a cancelled context or Close ends
// that wait. Close stops every call in flight and waits for them to return.
//
// # When this process dies
//
// Commands do not outlive the process that runs them, even when it is killed
// with SIGKILL and has no chance to clean up. Two mechanisms provide this:
//
//   - On Linux each command is started with a parent death signal
//     (SysProcAttr.Pdeathsig) of SIGKILL. The kernel sends it when the thread
//     that forked the command ends, not the process, so Run keeps its
//     goroutine locked to that OS thread from the start of the command until
//     it has been waited for; the thread cannot end meanwhile, and ends at
//     the latest with the process. The signal reaches the command only, not
//     its children.
//   - A watcher, a small /bin/sh (Options.Shell) script started before a
//     Transport's first command, in a process group of its own and deaf to
//     the signals of a terminal, is told the process group of every running
//     command through a pipe that only this process writes. When the pipe
//     ends without the word Close sends (this process died, however, or
//     exited without Close), it kills with SIGKILL every group it still
//     knows, so the children of a shell line die too; this works on every
//     Unix, and is all there is where there is no death signal. Then, where
//     /proc exists, it kills every process whose environment holds the
//     Transport's token ([TokenEnv]), twice: that reaches a command that
//     had started but was not yet announced to the watcher, and descendants
//     that left their command's group (setsid), as long as they kept the
//     environment. Close stops the watcher and waits for it; it shows up in
//     ps as "sh -c : dproc-localtransport-watcher ...". If it cannot be
//     started or is killed, commands run without it.
//
// A group is forgotten when its command has been waited for, so a process
// group id reused by another process is never signalled, and Close leaves
// alone a background child that a command left running after it exited.
//
// Temporary files and directories record their owner in their name: the
// process id and, on Linux, the process's start time (which tells it from a
// later process given the same id). What a killed process left behind is
// removed by the next one that works in the same place: the first Put into
// a directory removes the temporary files of Puts whose process has ended,
// and [MkdirTemp] removes the roots that earlier calls made for processes
// that have ended. Nothing of a live process, and nothing of another user,
// is ever removed.
//
// # Standard input
//
// Standard input is copied by the Transport itself rather than by os/exec:
// once the command has been killed, Run returns without waiting for a read of
// Command.Stdin that blocks. After a normal exit, Run waits for a pending
// read at most 5 seconds. Input the command did not read is dropped, and an
// error from Command.Stdin is returned when the command otherwise succeeds.
//
// With Command.Unread set, Command.Stdin (an *os.File included) is always
// copied through a pipe whose read end Run keeps: once the command has
// exited by itself, Run reads what it left in the pipe and the rest of
// Command.Stdin to its end and stores the count, so input the pipe's
// buffer held for the command counts as unread.
//
// # Files
//
// Put writes a temporary file in the target's directory, sets its mode and
// renames it over the target, so readers see the old file or the whole new
// one; a failed or cancelled Put removes the temporary file. The temporary
// file is named "." + name + ".dproc-" + owner + "-" + random, where owner is
// described in "When this process dies". Files are not
// synced to disk. Get reports a missing file with an error that matches
// [fs.ErrNotExist]. Every error names its operation, host and path in a
// [*transport.OpError].
//
// The Transport implements [transport.Pinger] (the host's directory exists),
// [transport.Remover] and [transport.Checksummer] without running commands.
//
// # Close
//
// Close kills every running command, stops file transfers, and waits for
// them to return; they report [transport.ErrClosed], as does every later
// call.
package localtransport
