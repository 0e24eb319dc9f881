// Package nodeops prepares hosts for work over any [transport.Transport]:
// it installs files once ([Install], [Setup]), mirrors a local directory onto
// hosts ([Sync], [SyncAll]), and reads and changes directory trees on a host
// ([ListTree], [ApplyTree], [Locate]).
//
// Each operation is a single-host primitive: it takes a context, a
// transport and a host, and returns what it did and an error that names the
// host once. [Each] runs any per-host call on many hosts, a bounded number
// at a time, and returns one [Result] per host in the order of the hosts;
// [Setup] and [SyncAll] are Each over Install and Sync.
//
//	res := nodeops.Setup(ctx, t, hosts, "~/processing", []nodeops.File{
//		{Path: "worker.sh", Mode: 0o755, Data: script},
//	}, nil)
//	for _, r := range res {
//		if r.Err != nil {
//			log.Print(r.Err) // "setup: install: ..." naming r.Host
//		}
//	}
//
// # Paths and the home directory
//
// Every path on a host that these functions take (Sync's dst, Install's and
// Setup's dir, the dir of ListTree, ApplyTree and Locate) reads a leading
// "~" as scp and rsync do: "~" and "~/" are the home directory and "~/x" is
// its entry x, never a directory literally named "~" ([transport.HomeRel]).
// "~user" (another user's home) is refused with an error matching
// [transport.ErrInvalid]. Relative paths are relative to the home directory;
// absolute paths are used as they are.
//
// Names inside a directory ([transport.TreeOp].Path, [transport.Entry].Path,
// [SyncOptions.StampName], [File].Path) are not paths on the host but names
// under that directory, and are taken as they are: a file of a synced tree
// may be named "~".
//
// # Trees
//
// [ListTree] and [ApplyTree] read and change a directory tree on a host in
// one round trip each. They use the transport's own [transport.Tree] when it
// has one, and otherwise [ShellTree]: one POSIX sh command per call, which
// needs GNU find, coreutils and sha256sum on the host (any Linux host has
// them). Every path in the generated scripts is quoted and prefixed with
// "./", so a file name holding spaces, quotes, '$', newlines or a leading
// '-' is only ever a file name. [Locate] does the same with
// [transport.Locator].
//
// The optional interfaces are looked for as [transport.Capability] looks
// for them: on the transport, then along its Unwrap chain, so a wrapper that
// has an Unwrap method keeps the Tree of the transport it wraps, and one
// that has not falls back to the shell.
//
// # Sync
//
// [Sync] does what "rsync -a src/ host:dst/" does, over any transport: only
// files whose size or modification time (whole seconds) differ travel, or
// whose SHA-256 differs with [SyncOptions.Checksum]; directories are
// created; modes and modification times are kept; symbolic links are copied
// as links and never followed; each file is replaced atomically by Put;
// extraneous entries are deleted only with [SyncOptions.Delete]. Per host it
// costs one round trip to list dst, at most one to prepare directories, one
// Put per changed file, at most one to fix modes and times, and one Put for
// the stamp, so an unchanged tree costs two round trips whatever its size.
// [SyncAll] walks and hashes src once for all hosts.
//
// A deleting sync is refused ([ErrDangerousDelete]) on a host where dst is
// the home directory, "/" or a directory above the home, however dst is
// spelled (an empty dst from an unset shell variable, ".", "~", the home's
// absolute path, a symbolic link): the refusal is decided on where dst
// leads on the host, before anything there changes.
// [SyncOptions.AllowDangerousDelete] is the explicit way to mean it. A dst
// that is a file is an error matching [transport.ErrNotDir] that says so.
//
// The stamp is an ordinary file, written last with Put: ".dproc-sync" in
// dst (see [SyncOptions.StampName]) holds the time of the sync and the
// [TreeDigest] of the synced tree, and [ParseStamp] reads it. It is not a
// tree operation, so a native [transport.Tree] knows nothing of its format.
// Because a Put carries no clock of the host's, the time in the stamp is
// that of the machine that ran Sync; the host's own clock at that moment is
// the stamp file's modification time, which the host gives it.
//
// # Install and Setup
//
// [Install] makes a directory on a host and puts files in it, sending only
// those whose content (by SHA-256) differs and giving every file its mode.
// [Setup] is Install on many hosts. Both read a [File].Path by one rule: a
// name inside the directory, relative, with no ".." element and no leading
// "~". A file that could land anywhere (an absolute path, "~/x", "../x")
// would make the directory argument a suggestion and let one job's setup
// overwrite files outside its working directory; the modes are also fixed
// with one tree operation under the directory, which needs names inside it.
// To install files in two directories, call Install twice.
//
// # Fan-out
//
// [Each] bounds how many calls run at once, returns the results in the order
// of the hosts whatever order the calls finish in, starts no call once ctx
// has ended (those hosts get ctx.Err()), and does not swallow a panic: it
// waits for the calls under way and panics again in the caller's goroutine
// with a [*PanicError] naming the host. A limit of zero or less means every
// host at once.
//
// # A nil Transport
//
// Every function of the package given a nil Transport returns an error
// matching [transport.ErrInvalid] that names the operation and the host,
// rather than panicking; [Setup] and [SyncAll] give it as every host's Err,
// and the Tree of [ShellTree] over nil returns it from every method.
package nodeops
