// Package hostsel reads host selections as pdsh, ClusterShell and GNU
// parallel users write them, and writes host lists back as node sets.
//
// # Node sets
//
// [Expand] reads "node[1-3,7],web[01-10]": items separated by commas or
// whitespace, each literal text with bracket groups. A group holds
// comma-separated indexes and ranges "a-b", with an optional step
// "a-b/s" ("n[1-10/3]" is n1 n4 n7 n10). Several groups multiply:
// "r[1-2]n[1-3]" is r1n1 r1n2 r1n3 r2n1 r2n2 r2n3. Zero-padding is part
// of the index: "web[01-10]" is web01..web10, "n[9-11]" is n9 n10 n11,
// and a range whose ends are padded must write both ends with the same
// width ("n[01-9]" is an error, as in ClusterShell). Whitespace is allowed
// around commas and inside brackets. Host names hold ASCII letters,
// digits, '.', '-' and '_', and do not start with '-' (ssh would take
// such a name, or user name, for an option). Names come out in the order
// written, each once.
//
// [Fold] is the reverse, and writes what ClusterShell's "nodeset -f"
// writes for the same names, byte for byte (a test checks a generated
// corpus against the installed nodeset): "node[1-3,7]", "web[01-10]",
// "n[1,01]" (n1 and n01 are different hosts, so mixed widths are never
// merged), "r[1-2]n[1-3]" and "r1n[1-3],r2n[1,3]" for names with several
// numbers. [Sorted] gives the order nodeset -e lists names in.
//
// # Hosts, hostfiles, exclusion
//
// [Parse] reads the -w form, where each item is "[N/][user@]NODESET[:port]":
// "alice@node[1-3]:2222" is three logins on port 2222. N/ is GNU parallel's
// slot count of an sshlogin ("4/node1" runs up to 4 jobs at once there).
// A port or user that is not written stays empty (0, ""), so that
// ssh_config (an alias's Port and User) or the defaults decide; a written
// port always wins, as "ssh -p" does. Because ':' separates the port, an
// IPv6 address with a port is written "[::1]:2222"; a bare address such
// as "::1" or "fe80::1%eth0" is accepted without a port. A bracket group
// holding a ':' is an IPv6 address, any other one a node-set range.
// GNU parallel's ':' (the local computer) is refused with a message: a
// dproc command with no hosts runs on local nodes instead.
//
// [ParseHostfile] reads one such list per line ("--hostfile"), with '#'
// comments to the end of the line and blank lines skipped; node sets and
// commas work in a line too. [ParseExclude] reads -x: node sets, and
// patterns where '*' is any run of characters and '?' one character
// ("web*", "rack[1-2]-*"); exclusion matches host names, whatever the user
// or port. [Select] puts -w, --hostfile and -x together.
//
// # Choices
//
//   - Duplicates: two entries are the same host when user, name and port
//     all match; the first is kept, with its slots, in first order. So
//     "n1,alice@n1" is two logins, and "2/n1,4/n1" is n1 with 2 slots.
//   - Whitespace separates items like a comma ("n1 n2"): ClusterShell
//     would read "n1 n2" as one name with a space in it, which no SSH
//     host has.
//   - Bounds: one expression, one hostfile, or one Select expands to at
//     most [MaxHosts] hosts, checked before anything is allocated, so
//     "node[1-100000000]" fails at once with [ErrTooMany]. Range bounds have
//     at most 18 digits.
//   - Not supported: ClusterShell's set operators ('!', '&', '^') and
//     @groups, pdsh's "^file" and "/regex/" forms, GNU parallel's
//     sshlogins that carry their own ssh command ("ssh -p 22 host": its
//     "-p" is refused as a name), and negative indexes;
//     '-x' and [Select] cover exclusion, and a '@', '!' or '^' in a name is
//     a syntax error rather than a silent literal.
//   - Two adjacent groups "n[1-2][3-4]" multiply (ClusterShell refuses
//     them); digits next to a group join its indexes as text ("n1[0-2]" is
//     n10 n11 n12), as in ClusterShell.
//
// # Errors
//
// Bad syntax gives a *[SyntaxError] naming the column (counted in
// characters, from 1) and, for a hostfile, the file and line:
//
//	hosts: column 7: unclosed '['
//	hosts.txt:3: column 1: slots 0 must be 1 to 100000
//
// errors.Is tells [ErrSyntax] from [ErrTooMany]; [ErrNoHosts] reports a
// selection that exclusions emptied.
package hostsel
