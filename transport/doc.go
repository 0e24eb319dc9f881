// Package transport defines how dproc reaches its hosts: the [Transport]
// interface, the [Command] it runs, the errors every transport reports, and
// helpers that work over any transport (installing files once, removing
// files, checksums).
//
// A Transport is addressed by host, the way an [net/http.RoundTripper] serves
// every URL: one value owns the connections to all hosts and is safe for
// concurrent use. Hosts are plain strings; what a host string means is the
// transport's business (an ssh_config alias, a directory name, a key in a
// map).
//
// Three transports ship with dproc:
//
//   - [dproc/transport/sshtransport]: OpenSSH-compatible hosts over
//     golang.org/x/crypto/ssh and SFTP.
//   - [dproc/transport/localtransport]: each host is a directory on this
//     machine; commands run as local processes.
//   - [dproc/transport/memtransport]: an in-memory fake with scripted faults,
//     for tests and examples.
//
// # Paths and the home directory
//
// Every host has a home directory. Relative paths given to Put, Get and
// Command.Dir are resolved against it, as ssh and scp resolve them against the
// remote user's home. Absolute paths are used as they are.
//
// The helpers of this package that take a path on a host ([Sync]'s dst,
// [Setup]'s dir, [Install], [ListTree], [ApplyTree], [Locate], [Remove],
// [Checksums]) also read a leading "~" as scp and rsync do: "~" and "~/" are
// the home directory and "~/x" is its entry x, never a directory literally
// named "~". "~user" (another user's home) is refused with an error matching
// [ErrInvalid]. Names inside a tree ([TreeOp].Path, [Entry].Path, the stamp
// name, a [Setup] file's path, which must stay inside dir and so may not
// start with "~") are not paths on the host but names under a directory, and
// are taken as they are: a file of a synced tree may be named "~". The
// Transport methods themselves (Put, Get, Command.Dir) take paths as given.
//
// # Errors
//
// Transports report what happened; the dispatcher decides what to do about
// it. Every error a transport returns for a host wraps, directly or through an
// [*OpError], one of these:
//
//   - [*ExitError]: the command ran and exited non-zero (or was killed by a
//     signal on the host). errors.Is(err, [ErrFailed]) holds. It is not safe to
//     assume the command had no effect. A command that could not be found
//     reports exit status 127, as every POSIX shell does, and
//     errors.Is(err, [ErrCommandNotFound]) holds.
//   - [ErrLost]: the command never started or its host went away before it
//     finished (connection refused or dropped, session could not open, no exit
//     status). The work is safe to run again elsewhere.
//   - [fs.ErrNotExist]: Get of a file that does not exist.
//   - [ErrClosed]: the Transport was closed.
//   - context.Canceled or context.DeadlineExceeded: the caller's context ended.
//
// # Trees, sync and set-up
//
// [ListTree] and [ApplyTree] read and change a directory tree on a host in
// one round trip each. A Transport may implement them natively ([Tree]);
// otherwise they run one POSIX sh command on the host, which needs GNU find,
// coreutils and sha256sum (any Linux host has them). Every path in the
// generated script is quoted with [Quote] and prefixed with "./", so a file
// name holding spaces, quotes, '$', newlines or a leading '-' is only ever a
// file name.
//
// [Sync] does what "rsync -a src/ host:dst/" does, on many hosts at once and
// over any Transport: only files whose size or modification time (whole
// seconds) differ travel, or whose SHA-256 differs when
// [SyncOptions.Checksum] is set; directories are created; modes and
// modification times are kept; symbolic links are copied as links and never
// followed; each file is replaced atomically by Put; extraneous files are
// deleted only with [SyncOptions.Delete]. Per host it costs one round trip to
// list dst, at most one to prepare directories, one Put per changed file and
// one to fix modes and times and write the stamp, so an unchanged tree costs
// two round trips whatever its size. The stamp file (".dproc-sync" in dst)
// holds the host's own time, read on the host, and [TreeDigest] of the
// synced tree ([ParseStamp] reads it).
//
// A deleting sync is refused ([ErrDangerousDelete]) on a host where dst is the
// home directory, "/" or a directory above the home, however dst is spelled
// (an empty dst from an unset shell variable, ".", "~", the home's absolute
// path, a symbolic link): the refusal is decided on where dst leads on the
// host, read in the same command that lists it, before anything there
// changes. [SyncOptions.AllowDangerousDelete] is the explicit way to mean it.
// A dst that is a file is an error matching [ErrNotDir] that says so.
//
// [Setup] installs files in a working directory on many hosts: each file is
// sent only when its content differs (see [Install]) and every file is given
// its mode.
//
// # Implementing a Transport
//
// Run [dproc/transport/transporttest.RunConformanceTests] against a new
// implementation: it checks every "must" in the contract below.
package transport
