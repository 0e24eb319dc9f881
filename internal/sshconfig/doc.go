// Package sshconfig reads ssh_config files and resolves hosts with them
// exactly as the OpenSSH 9.2 client (ssh) does, so that dproc connects to
// the host, as the user, through the route and with the files that ssh
// would use. Its specification is OpenSSH itself: a differential test
// generates configs and host strings and compares every answer with
// ssh -G and ssh -vvv (see diff_test.go).
//
// Use [Load] to read the files (the -F file alone, or ~/.ssh/config then
// /etc/ssh/ssh_config), [Config.Check] to reject a config that ssh
// rejects for every host, and [Config.Resolve] for a host.
//
// # Supported, as in ssh
//
// Reading lines: keywords in any case, "Keyword value", "Keyword=value"
// and "Keyword = value" ("K==v" gives "=v"); words split on blanks;
// double and single quotes, also inside a word; the escapes \" \' \\ and,
// outside quotes, "\ "; '#' starts a comment only at the start of a word;
// ProxyCommand, LocalCommand, RemoteCommand and KnownHostsCommand take the
// raw rest of the line, quotes and '#' included. Every line is checked,
// also in blocks that do not apply: an unknown keyword, a missing or extra
// value or a bad value is an error, unless an earlier active IgnoreUnknown
// names the keyword. All the keywords of OpenSSH 9.2 as Debian builds it
// (with GSSAPI and PKCS#11) are known; deprecated and unsupported ones are
// accepted and ignored, as ssh ignores them.
//
// Include: several arguments, each a glob (sorted bytewise, leading dots
// matched only by a leading dot); relative paths under ~/.ssh (whose "~" is
// $HOME, as the C library's glob takes it) or, in the system file, under
// /etc/ssh; an argument that matches nothing is skipped; included files
// must be owned by the user or root and not writable by group or others;
// more than 16 nested files is an error. Under a Host or Match that does
// not apply, an included file is only checked; under one that applies,
// its top-level lines apply; its own Host and Match state ends with it.
//
// Host: whitespace-separated patterns with '*' (any run) and '?' (exactly
// one character), matched case-sensitively against the host argument
// (the final host name in the final pass); a matching "!pattern" turns the
// line off whatever the order; commas are literal.
//
// Match: all (alone; "host x all" accepted as ssh accepts it), canonical,
// final, host (against the HostName set so far with %h expanded, else the
// argument; the final name in the final pass; case-insensitive),
// originalhost, user (the User set so far, else the default user),
// localuser; "!" negates a criterion; values are comma lists with "!"
// exclusions; criteria are ANDed; "crit=value" works. localnetwork and
// tagged are errors, as in 9.2.
//
// Values: the first value obtained wins, across files and passes;
// IdentityFile and CertificateFile add up (duplicates dropped, "none"
// skipped); UserKnownHostsFile, GlobalKnownHostsFile and CanonicalDomains
// are taken whole from the first line ("none" alone); a time value of
// "none" counts as unset. Ports: 1-65535 in decimal ("022", "+22") or a tcp
// service name from /etc/services. Times: N[smhdw] terms summed ("1m30s").
// ServerAliveCountMax 0 and ConnectTimeout 0 are kept as set (ssh: give
// up after one silent interval; no timeout of its own). ProxyJump and
// ProxyCommand: whichever is set first wins ("ProxyCommand none" then a
// ProxyJump connects directly; "ProxyJump none" does not block a later
// ProxyCommand, as in Debian's 9.2); a ProxyJump value ends at the first
// '#' or blank, so "a, b" is an error; ssh:// URIs; a jump through the
// host itself is an error. HostKeyAlias is lowercased.
//
// Host names: after the first pass the HostName (with %h) is lowercased,
// unless it is an address: those are written as the C library does
// ("127.1" is 127.0.0.1) and names with ':' or '%' are kept. A final pass
// runs for CanonicalizeHostname yes or always and for any "Match final" or
// "Match !final" line.
//
// Expansion: HostName takes %h. IdentityFile, CertificateFile,
// UserKnownHostsFile, ControlPath and IdentityAgent take "~" and "~user"
// (from the passwd entries, never $HOME), the tokens %C %d %h %i %k %L %l
// %n %p %r %u %% and ${VAR}; GlobalKnownHostsFile takes "~". An unknown
// token, a lone '%', an unset or unclosed ${VAR} and an unknown ~user are
// errors, as in ssh (which exits).
//
// # Refused on purpose
//
// These are errors matching [ErrUnsupported] that name the file, line and
// keyword, never a different answer from ssh's:
//   - Match exec, on any line (it would run a command from the config).
//   - CanonicalizeHostname yes or always when canonicalising needs DNS: a
//     name with no more than CanonicalizeMaxDots dots and CanonicalDomains
//     to try, or a name ending in '.'; and CanonicalizePermittedCNAMEs when
//     ssh would follow CNAMEs. Without a lookup to make (CanonicalDomains
//     none, enough dots, or a ProxyJump with "yes") it is supported,
//     final pass included.
//
// dproc's SSH transport refuses, after resolving, a ProxyCommand other
// than none, KnownHostsCommand and RevokedHostKeys (ignoring the last two
// could accept a host key that ssh refuses). Other keywords are read,
// checked and otherwise ignored by dproc.
//
// # Choices
//
// Include files are read by Load, once; the files are not read again for
// each host. [Config.Check] reads every line as inactive and counts every
// IgnoreUnknown line, so that it reports only what ssh rejects for any
// host. Errors are [*Error] values; the first one found is returned (ssh
// reports all of a file's bad lines, then exits).
package sshconfig
