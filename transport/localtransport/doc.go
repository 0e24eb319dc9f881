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
// Relative paths given to Put, Get and Command.Dir are resolved against the
// host's home. Absolute paths are used as they are, so they are shared by all
// hosts: hosts are isolated only as far as callers use relative paths.
//
// # Commands
//
// An argument vector is run directly with os/exec, with no shell in between,
// so arguments need no quoting. A program name without a slash is looked up
// in the PATH of the command's environment (so Command.Env can change it); a
// name with a slash is relative to the working directory. A Shell line runs
// as /bin/sh -c LINE (see [Options.Shell]).
//
// The environment is this process's, then HOME set to the host's home, then
// Command.Env; a later entry wins. With HOME set, a shell line that writes
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
// Standard input is copied by the Transport itself rather than by os/exec:
// once the command has been killed, Run returns without waiting for a read of
// Command.Stdin that blocks. After a normal exit, Run waits for a pending
// read at most 5 seconds. Input the command did not read is dropped, and an
// error from Command.Stdin is returned when the command otherwise succeeds.
//
// # Files
//
// Put writes a temporary file in the target's directory, sets its mode and
// renames it over the target, so readers see the old file or the whole new
// one; a failed or cancelled Put removes the temporary file. Files are not
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
