// Package knownhosts reads OpenSSH known_hosts files and judges host keys
// against them exactly as OpenSSH 9.2's ssh does, so that a program using
// it trusts, refuses and records the same keys as ssh.
//
// # Format
//
// A line is "[@cert-authority|@revoked] names keytype base64 [comment]".
// Blank lines, lines starting with '#' and every line OpenSSH would not use
// (an unknown or repeated marker, a key type OpenSSH does not know or that
// is not the key's own, bad base64, a malformed hashed name, an RSA key
// under 1024 bits) are skipped, never an error: a file with no valid line
// knows no host. A file that is missing or cannot be read is skipped too,
// as ssh skips it ([DB.Skipped] says why).
//
// names is either one hashed name, "|1|salt|hash" (HMAC-SHA1 of the
// lowercased lookup name, compared exactly), or a comma-separated list of
// patterns matched without regard to case: '*' matches any run of
// characters (brackets and ports included, so "[h]:*" covers every
// non-default port of h), '?' exactly one, and a pattern starting with '!'
// that matches the whole lookup name excludes the line whatever the other
// patterns say.
//
// # Lookup name
//
// A host is looked up as [LookupName] forms its name: the HostKeyAlias,
// lowercased and never with a port, when one is set; else the host name,
// lowercased, alone for port 22 and as "[host]:port" otherwise. A line for
// "[h]:22" therefore never matches.
//
// # Verdicts
//
// [DB.Check] gives [OK], [New], [Changed] or [Revoked] for an offered key,
// judging the matching lines of all the files loaded together. A plain key
// is OK when a matching plain line holds it; another key on any matching
// plain line, of any type, makes it Changed. A host certificate is OK only
// through a matching @cert-authority line holding its CA (never through a
// plain line), and then only if it is valid for the host: a host
// certificate whose principals are empty or list the HostKeyAlias (else the
// host name, without the port), in its validity period, without critical
// options, signed with an algorithm other than SHA-1 RSA. A certificate that
// is not accepted as one is judged again as its plain key. A matching
// @revoked line holding the key, or a certificate's CA, makes it Revoked:
// @revoked applies only to the names on its line, and a revoked key of one
// type says nothing about a host that proves another known type. When the
// verdict is New for a host on a non-default port without an alias, the key
// is looked up again under the bare host name, and only OK counts there.
//
// # Host key algorithms
//
// [DB.HostKeyAlgorithms] returns the algorithms to offer a host in
// OpenSSH's own preference order, moving those whose key type is known for
// the host to the front (all certificate algorithms when a
// @cert-authority line matches it) unless the first is already known; an
// explicit HostKeyAlgorithms list, or one starting with '^', is used as
// written, and "+list" and "-list" change the default list before it is
// reordered.
//
// # Recording keys
//
// [Add] appends the line OpenSSH's accept-new writes ([Line]): the
// lowercased lookup name (hashed when asked), the key type and the base64
// key, nothing else, to one file, under a process-wide lock and in one
// append-mode write. Where OpenSSH 9.2 would join the new entry to a last
// line without a final newline, Add starts a new line, as OpenSSH 9.3 does.
//
// # Not supported
//
// CheckHostIP (IP address lines), KnownHostsCommand, RevokedHostKeys (KRL
// files) and the legacy RSA1 key format are not handled by this package.
package knownhosts
