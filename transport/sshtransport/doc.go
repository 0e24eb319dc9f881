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
// A host string is an ssh_config alias or "[user@]host[:port]" ("[::1]:22"
// for IPv6). It is resolved as ssh resolves it, with
// github.com/kevinburke/ssh_config reading ~/.ssh/config and then
// /etc/ssh/ssh_config, or only [Options.ConfigFile] when it is set (like
// ssh -F). The first value found for a key wins. These keys are used:
// HostName, User, Port, IdentityFile (all of them), IdentitiesOnly,
// ProxyJump (one or more hops, "none", ssh:// URIs), UserKnownHostsFile,
// GlobalKnownHostsFile, HostKeyAlias, HashKnownHosts, StrictHostKeyChecking,
// ConnectTimeout, ServerAliveInterval and ServerAliveCountMax. A user or
// port in the host string wins over the config. "~" and the tokens %h %p %r
// %n %u %d %l %L %% are expanded in IdentityFile and the known_hosts paths,
// and %h in HostName. ProxyCommand is refused rather than silently ignored.
// The first ProxyJump hop is resolved with its own config, ProxyJump
// included; later hops are reached through the hop before them.
//
// The config files are parsed by New: a file that cannot be parsed (for
// example one with a "Match exec" line, which the parser refuses on purpose)
// is an error naming the file and line, never a silent fall back to the
// defaults. A missing default file is skipped; a missing ConfigFile is an
// error.
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
// # Host keys
//
// Host keys are checked strictly against known_hosts: the config's
// UserKnownHostsFile (default ~/.ssh/known_hosts and known_hosts2),
// GlobalKnownHostsFile and [Options.KnownHostsFiles]. Hashed names,
// "[host]:port", wildcards, @cert-authority and @revoked lines are
// understood. The host key algorithms asked for are those known for the
// host, so a host known only by its ed25519 key is not refused because it
// also has an ECDSA one. With ProxyJump, every hop is checked against its
// own entry.
//
// A key that no file knows fails with [ErrUnknownHostKey]; a key that
// differs from the known one fails with [ErrHostKeyChanged], which warns of a
// possible man-in-the-middle attack; a revoked key fails with
// [ErrHostKeyRevoked]. All three come as a [*HostKeyError] that names the
// host and the key's SHA256 fingerprint, and none of them is
// [transport.ErrLost]. [Options.AcceptNew], or "StrictHostKeyChecking
// accept-new" (or "no", which is treated the same), appends unknown keys to
// the first UserKnownHostsFile, hashed when HashKnownHosts is set, one whole
// line per write and under a lock, so concurrent first connections do not
// corrupt the file. A changed key is refused whatever the options say. The
// package never disables host key checking.
//
// # Connections
//
// Nothing is dialled until a host is used. The first use dials with the
// caller's context: the TCP connect and the SSH handshake each end when the
// context does or after ConnectTimeout. Each host then keeps a long-lived
// connection that carries up to [Options.MaxSessions]-1 commands at once
// (one channel stays free for SFTP); more concurrent commands open more
// connections, up to [Options.MaxConnsPerHost]. A server whose MaxSessions
// is lower than ours is detected when it refuses a session, and taken as
// backpressure. Handshakes to one host are limited to
// [Options.HandshakeConcurrency] at a time and a handshake reset is retried,
// so the server's MaxStartups does not drop connections. Once connected, a
// command costs one channel open, never a handshake.
//
// Every connection sends keepalive@openssh.com requests every
// [Options.KeepaliveInterval]; when [Options.KeepaliveCountMax] of them in a
// row go unanswered (a frozen host, a silent network) the connection is
// closed, and the commands on it fail with [transport.ErrLost]. After a
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
// [transport.QuoteArgs] and exec'd, or the Shell line.
//
// The wrapper runs the command in its process group and watches the sshd
// process that started it. Cancelling the context stops standard input
// without an end of file and sends SIGTERM, then SIGKILL, to that group (ssh
// signal requests); sshd refuses signals to forced commands and before
// OpenSSH 7.9, so if the command has not ended shortly after, Run kills the
// group with a kill command on the same connection. A read error from
// Command.Stdin is handled the same way, so that a truncated input is never
// seen as complete. If the
// connection drops instead, sshd exits and the wrapper kills the group
// itself within about a second. Either way no worker is left running on the
// host. Standard output and error are copied concurrently; the wrapper's
// first line on standard error (its process id) is removed.
//
// Exit statuses map to [*transport.ExitError] with the tail of standard
// error. A connection that breaks, a channel that cannot be opened, and a
// command that ends without an exit status are [transport.ErrLost]. A host
// name that does not resolve is [transport.ErrUnknownHost]; a host that
// refuses or drops connections is ErrLost. After Close every method fails
// with [transport.ErrClosed].
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
// files with one sha256sum command.
package sshtransport
