// Package sshtransport is a [transport.Transport] that reaches hosts over
// SSH, with golang.org/x/crypto/ssh for connections and commands and
// github.com/pkg/sftp for files. It behaves like OpenSSH's ssh client where
// the two overlap: same config files, same known_hosts, same keys.
//
// A Transport is made with [New] and is safe for concurrent use; it also
// implements [transport.Pinger], [transport.Remover] and
// [transport.Checksummer].
//
// # Hosts and config resolution
//
// A host string is an ssh_config alias, "[user@]host[:port]" ("[::1]:22"
// for IPv6) or "ssh://[user@]host[:port]". The ":port" suffix is dproc's
// own: ssh reads "h:2222" as a host name. The host is resolved as OpenSSH
// 9.2's ssh resolves it, by an ssh_config reader of this module's own
// (dproc/internal/sshconfig) whose tests compare it with "ssh -G" on
// hundreds of generated configs: ~/.ssh/config and then
// /etc/ssh/ssh_config, or only [Options.ConfigFile] when it is set (like
// ssh -F). Include (globs, relative to ~/.ssh), Host patterns ("?" is one
// character, negation), Match (all, host against the HostName so far,
// originalhost, user, localuser, canonical, final; comma lists and
// negation), quoting, first-value-wins, the %-tokens each keyword takes,
// ${VAR}, and "~" from the passwd entry (not $HOME) all behave as in ssh.
// These keywords are used: HostName, User, Port, IdentityFile (all of them),
// CertificateFile, IdentitiesOnly, ProxyJump (one or more hops, "none",
// ssh:// URIs), UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias,
// HostKeyAlgorithms, HashKnownHosts, StrictHostKeyChecking, ConnectTimeout
// (0: none), ServerAliveInterval and ServerAliveCountMax. A user or port in
// the host string wins over the config. The first ProxyJump hop is resolved
// with its own config, ProxyJump included; later hops are reached through
// the hop before them. [Transport.Resolve] returns what will be used for a
// host, and [Settings.WriteTo] prints it as "ssh -G" does.
//
// The config files are read by New and checked as ssh checks them: a
// syntax error, an unknown keyword or a bad value, even in a block that
// applies to no host, is an error naming the file, line and keyword, never
// a silent fall back to the defaults. A missing default file is skipped; a
// missing ConfigFile is an error. What dproc cannot do as ssh does is
// refused with an error matching [ErrUnsupportedConfig], naming the file,
// line and keyword: Match exec; CanonicalizeHostname when it would need a
// DNS lookup; a ProxyCommand other than none (use ProxyJump);
// KnownHostsCommand; RevokedHostKeys; CheckHostIP and VerifyHostKeyDNS
// turned on. UpdateHostKeys is ignored on purpose: it only adds keys after a
// connection that was accepted anyway. "ServerAliveCountMax 0" gives up
// after one unanswered keepalive, where ssh gives up after one silent
// interval even from a healthy idle server.
//
// # Authentication
//
// The keys of the ssh-agent at $SSH_AUTH_SOCK ([Options.NoAgent] turns it
// off), of the IdentityFile entries (by default ~/.ssh/id_rsa, id_ecdsa and
// id_ed25519 when they exist) and [Options.Signers] are offered through one
// public-key method, without duplicates. When the config names identity
// files or says IdentitiesOnly, only the agent keys matching those files are
// offered: servers give up after six attempts.
//
// An encrypted key file is not decrypted up front. Its public key is
// offered first, and [Options.Passphrase] is called only if the server would
// accept it, once per file for the life of the Transport. Without a callback
// the connection fails with an error naming the key file. Passphrases and
// key bytes never appear in errors.
//
// A host that proved its identity but accepted none of the keys (or a key
// that could not be used) fails with [ErrAuth], wrapped with the user and
// host. It is not [transport.ErrLost]: trying again, or elsewhere with the
// same keys, would fail the same way.
//
// # Host keys
//
// Host keys are checked as OpenSSH 9.2's ssh checks them, against the
// config's UserKnownHostsFile (default ~/.ssh/known_hosts and known_hosts2),
// GlobalKnownHostsFile (default /etc/ssh/ssh_known_hosts and
// ssh_known_hosts2) and [Options.KnownHostsFiles], whose matching lines are
// judged together. A host is looked up under its HostKeyAlias (lowercased,
// never with a port), else its HostName, lowercased, as "host" on port 22
// and "[host]:port" on any other. Hashed names, wildcard and negated
// patterns ("[h]:*", "[h?]:4220?", "*,!h"), @cert-authority and @revoked
// lines work as in OpenSSH, and a line OpenSSH would ignore is ignored, so
// a file with no valid line knows no host. A key known for the host is
// accepted; another key for the host, of any type, is a changed key; a host
// certificate is accepted only through a matching @cert-authority line and
// then only if valid for the alias or host name, and is otherwise judged as
// its plain key. For a host on a non-default port without an alias, a key
// found under the bare host name is accepted too (and only an accepted key
// counts there). @revoked applies to the names on its line; a revoked CA
// revokes its certificates. With ProxyJump, every hop is checked against
// its own entries.
//
// The host key algorithms are asked for in OpenSSH's order: the default
// list, or the config's HostKeyAlgorithms ("+", "-" and "^" forms
// included), with the algorithms whose key type known_hosts holds for the
// host moved to the front (all certificate algorithms when an
// @cert-authority line matches it), unless the first one is already known.
// An explicit list, or one starting with "^", is used as written.
// Algorithms golang.org/x/crypto/ssh does not implement (the sk- security
// key ones) are left out of what is sent. So the
// host proves the key type ssh would make it prove, and a changed key of
// the preferred type is noticed even when a key of another type is known.
//
// A key that no file knows fails with [ErrUnknownHostKey]; a key that
// differs from the known one fails with [ErrHostKeyChanged], which warns of a
// possible man-in-the-middle attack; a revoked key fails with
// [ErrHostKeyRevoked]; a host that offers none of the algorithms asked for
// fails with [ErrNoHostKeyAlgorithm]. All four come as a [*HostKeyError]
// that names the lookup name and the key's SHA256 fingerprint, and none of
// them is [transport.ErrLost].
//
// StrictHostKeyChecking yes and ask (the default) refuse unknown keys; ask
// never prompts, as ssh in batch mode. [Options.AcceptNew], or
// StrictHostKeyChecking accept-new, records an unknown key in the first
// UserKnownHostsFile ([Options.KnownHostsFiles]' first when the config
// names none) with the line ssh writes: the lowercased lookup name (hashed
// when HashKnownHosts is set), the key type and the base64 key, and a
// newline; for a host certificate, its plain key. Writes are one whole
// line each, under a lock, after reading the file again, so concurrent
// first connections record a host once. Where they differ from OpenSSH 9.2,
// on purpose:
//   - StrictHostKeyChecking no is read as accept-new: OpenSSH connects to a
//     host whose key changed or is revoked (with password authentication and
//     forwarding disabled); dproc refuses it, whatever the options say. The
//     package never disables host key checking.
//   - When the file's last line has no final newline, OpenSSH 9.2 appends
//     the entry to that line, corrupting both; dproc starts a new line, as
//     OpenSSH 9.3 does.
//   - The file's directory is created (mode 0700) wherever it is; OpenSSH
//     creates only ~/.ssh. A key that cannot be written is an error, where
//     ssh logs it and connects.
//
// As in OpenSSH, a key is not recorded for a HostName holding any of
// @ ? * # [ ] | ' " \ (the connection is refused as unknown instead).
// CheckHostIP, KnownHostsCommand, RevokedHostKeys, VerifyHostKeyDNS and
// UpdateHostKeys are not applied.
//
// # Connections
//
// Nothing is dialled until a host is used. The first use dials with the
// caller's context: the TCP connect and the SSH handshake each end when the
// context does or after ConnectTimeout. Each host then keeps a long-lived
// connection that carries up to [Options.MaxSessions]-1 commands at once
// (one channel stays free for SFTP); more concurrent commands open more
// connections, up to [Options.MaxConnsPerHost]. A server whose MaxSessions
// is lower than ours is detected when it refuses a session: the command
// moves to another connection, and the host's connections carry no more
// than the server allowed from then on. Handshakes are limited to
// [Options.HandshakeConcurrency] at a time per server address and
// [Options.MaxHandshakes] in all, and a handshake the server resets is
// retried with backoff, so a stock server's MaxStartups (10:30:100) drops
// no connection even when many hosts are dialled at once. Once connected, a
// command costs one channel open, never a handshake.
//
// A connection from which nothing has arrived for
// [Options.KeepaliveInterval] (2 s by default) is sent a
// keepalive@openssh.com request; once nothing has arrived for
// [Options.KeepaliveCountMax]+1 intervals (8 s by default), it is closed
// and the commands on it fail with [transport.ErrLost]. The config's
// ServerAliveInterval and ServerAliveCountMax override these. After a
// connection is lost or a dial fails, the next use dials again, after a
// backoff that grows with consecutive failures (50 ms up to 2 s).
//
// # Commands and cancellation
//
// sshd runs a command through the user's login shell, which may be sh,
// bash, zsh or fish. Run sends one line that every such shell reads the same
// way, "exec /bin/sh -c WRAPPER dproc-wrap SCRIPT", with each part inside
// single quotes and every quote or backslash written outside them. SCRIPT is
// the command for /bin/sh: Env exported (sshd refuses setenv requests by
// default), a cd to Dir, then the argument vector quoted with
// [transport.QuoteArgs] and exec'd, or the Shell line. The Env values are
// not on that line, which the host's process list shows to every user of
// the host: Run sends their export line first on the session's standard
// input, ahead of Command.Stdin, and SCRIPT reads it there with the shell's
// read and evaluates it, so the command's input starts where Command.Stdin
// does. (A reused session gets its whole script on standard input anyway.)
//
// The wrapper runs the command in its process group and watches the sshd
// process that started it. Cancelling the context stops standard input
// without an end of file and sends SIGTERM, then SIGKILL, to that group (ssh
// signal requests); sshd refuses signals to forced commands and before
// OpenSSH 7.9, so if the command has not ended shortly after, Run kills the
// group with a kill command on the same connection. A cancelled Run waits
// for that only on a host that answers: a host that has left a request
// unanswered for half a second (the cancellation, or a keepalive or Ping
// sent earlier on the connection) is left to a background kill that Close
// waits for, and nothing reaches
// Command.Stdout or Command.Stderr after Run returns. A read error from
// Command.Stdin is handled the same way, so that a truncated input is never
// seen as complete. If the connection drops instead, sshd exits and the wrapper kills the group
// itself within about a second. Either way no worker is left running on the
// host. Standard output and error are copied concurrently; the wrapper's
// first line on standard error (its process id) is removed.
//
// With Command.Unread set and a Command.Stdin, the command runs under a
// wrapper that stays its parent: once the command has exited by itself,
// the wrapper reads the rest of its standard input (what the pipe from
// sshd, sshd and the channel's window hold, and what Run goes on sending to
// the end of Command.Stdin), counts it, and reports the count on a last
// line of standard error, which Run removes. That line starts with a NUL
// byte, so what the command writes reaches Command.Stderr as it comes, its
// lines whole: only the end of a write that could start the line (a NUL
// byte, possibly followed by the marker's first bytes) is held back, until
// the command's next write or its exit. Such a command is sent all of
// Command.Stdin, read or not. It runs in the wrapper's process group, as
// every command does, but as a background job of the wrapper, which
// forwards SIGTERM and SIGHUP to the group: it starts with SIGINT and
// SIGQUIT ignored, and a command that exits by itself with a status
// between 129 and 159 is reported as killed by the matching signal.
//
// # Reused sessions
//
// By default, a command whose input size is known
// ([transport.Command].InputSize, which the dispatcher sets for every
// chunk) and under 16 MiB, or that has no input, runs in a reused session:
// a session that runs one command after another, so that a run of many
// chunks or many small tasks opens a session once per slot instead of once
// per command (a host's first command gets a session of its own: starting
// the loop costs more than a session, and pays only when more commands
// follow). That saves the two round trips of opening a session and
// starting a command on it, and the host's cost of a new session: sshd's,
// the login shell's, the wrapper's. A larger input gets a session of its
// own, where it reaches the command with no copy by the loop's helpers:
// past 16 MiB those copies cost the host more than the session.
// [Options].SessionPerCommand turns reuse off. Measured on a 2-core Intel
// Xeon VM with the client and three sshd nodes on loopback (so round trips
// cost nothing): 300 tiny tasks (8 slots per node) took 0.38 to 0.46 s
// reused against 0.93 to 0.99 s with a session each (0.7 to 0.8 s against
// 1.8 s of CPU in all); 256 MiB through "tr a-z A-Z" in 4 MiB chunks 1.44
// to 1.49 s reused against 2.62 to 2.78 s, in 16 MiB chunks 1.32 s against
// 1.28 s, and in 32 MiB chunks (carried by the loop for this measurement;
// by default they get sessions of their own) 1.31 to 1.45 s against 1.09 to
// 1.17 s; one command on each of 100 hosts 1.13 s either way.
//
// The session runs a small /bin/sh loop that needs only head -c, wc, cat,
// mkfifo and mktemp on the host, as every Linux, BSD and macOS system has.
// For each command Run sends a header line, the command's script and
// exactly InputSize bytes of Command.Stdin (never more; a Stdin that ends
// sooner fails Run, and the command never sees end of file). The loop runs
// the command in a subshell with its directory and environment (nothing
// carries over to the next command). Its standard output and error go to
// two FIFOs that two cats, started once per session, copy to the session;
// a command's end is marked on both streams, after everything written to
// them by the command and by any process it left behind with them open,
// as sshd waits for those before it ends a session. An input of up to 4
// KiB is read in full from Command.Stdin before the command starts; when it
// holds no NUL byte and ends in a newline it is read by the shell itself
// and written into the command's standard input by the shell's printf, so
// a small command starts no helper program at all. Any other input is fed
// by head -c. Either way the command reads a pipe, as in a session of its
// own, and what it left unread is counted (Command.Unread is always
// filled) and drained. The marks are a NUL byte and a token drawn at
// random for the session, followed by
// the exit status, and are removed before the output reaches
// Command.Stdout and Command.Stderr. The input is sent in full even when
// the command stops reading it. As with the counting wrapper, the command
// runs as a background job of the loop (SIGINT and SIGQUIT ignored), and a
// status between 129 and 159 is reported as the matching signal, named by
// the host's kill -l. The command runs in a subshell of the loop, so its
// $$ is the loop's process id, the same for every command of the session
// (a script that names temporary files after $$ alone may find a file of
// an earlier command). A host whose /bin/sh is yash or posh, or that lacks
// one of the tools above, cannot run the loop: the session says so as it
// starts, and the host's commands get a session of their own.
//
// Cancelling a command in a reused session (or a read error from its
// input) kills the loop's whole process group, as for a session of its own,
// and the session goes with it; the next command opens a new one. An idle
// reused session holds its session slot for 30 s at most, and gives it up
// at once when another command needs a slot on the connection.
//
// Exit statuses map to [*transport.ExitError] with the tail of standard
// error. A connection that breaks, a channel that cannot be opened, and a
// command that ends without an exit status are [transport.ErrLost]. A host
// name that does not resolve is [transport.ErrUnknownHost] (and is looked
// up again at the next use, with no backoff); a host that refuses or drops
// connections is ErrLost. When the command exits by itself, Run has
// finished with Command.Stdin before it returns: a Read in progress is
// waited for (and interrupted, for a pipe or socket), and no Read starts
// after. Close cancels every call in flight, dials included, waits for them
// to return, and from then on every method fails with
// [transport.ErrClosed]. A call blocked for ever in the caller's own reader
// or writer (other than Run's standard input) holds Close as long.
//
// # Files
//
// Put and Get use SFTP on the host's connection, with many requests in
// flight in both directions whatever the reader or writer is. Put writes a
// temporary file next to the target, sets its mode, and renames it over the
// target (posix-rename@openssh.com, or a plain rename), so readers never see
// a partial file; missing parent directories are created. On a host whose
// sftp subsystem is missing or broken, files move through cat on the
// command channel with the same atomic rename. Get of a missing file
// returns an error matching [fs.ErrNotExist]. Checksum hashes any number of
// files with one sha256sum command (Get and a local hash on a host without
// sha256sum); a missing file gives "", a directory [ErrNotRegular].
//
// Paths, and Command.Dir, are relative to the home directory; "~" and
// "~/x" mean the home and its x, as for scp. "~user" is refused with
// [transport.ErrInvalid], and so is the home itself as a file path.
package sshtransport
