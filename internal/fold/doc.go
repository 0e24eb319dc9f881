// Package fold prints the outputs of one command run on many hosts, the
// two ways pdsh and ClusterShell users know.
//
// Folded ([Write], [Groups]): hosts whose output and status are the same
// are gathered under one header naming them as a node set, as
// "dshbak -c" and "clush -b" / "clubak -b" do:
//
//	---------------
//	node[1-3,7] (4)
//	---------------
//	 12:00:01 up 3 days,  load average: 0.00, 0.01, 0.05
//
// Streamed ([Prefixer]): each line is written as it completes, prefixed
// "host: ", as pdsh and clush print.
//
// # Choices
//
//   - The layout is clubak -b's, not dshbak -c's: 15 dashes, the host
//     count in parentheses when a block has more than one host, larger
//     groups first, then by their first host. For results whose status is
//     "" and whose output is not empty it is byte-identical to clubak -b
//     fed "host:line" input (a test checks this against the installed
//     clubak). dshbak -c has no count
//     and orders hosts that share no trailing number by Perl's hash order,
//     which changes from run to run, so no program can match it byte for
//     byte; a test checks that the same hosts share the same output in
//     both.
//   - Hosts are grouped by output and status both, as clush -b does: two
//     hosts that print the same text but exit 0 and 1 are in different
//     blocks. A non-empty status ("exit 3", "killed by signal 15",
//     "unreachable": the caller's words) follows the header,
//     "node[4-5] (2) exit 3", so that a failed host is never folded into
//     a successful one's block without a word.
//   - Outputs are compared after a missing final newline is added, and
//     printed with it: pdsh and clush are line-based and print "a" and
//     "a\n" the same, so they are one group here too.
//   - Every host appears in exactly one block, also when it printed
//     nothing (clush -b leaves such hosts out; here the header alone shows
//     that they ran).
//   - Headers fold hosts with hostsel.Fold, the form ClusterShell's
//     nodeset -f writes; any host strings work ("alice@n1:2222"), folded
//     on their digit runs.
//   - Streamed lines: a [LineWriter] per host stream holds a partial line
//     until its newline, so lines never interleave within a line; Close
//     writes a partial last line with a newline added (pdsh adds none, and
//     the next host's line then starts in the middle of it). A line longer
//     than [MaxLine] is written in MaxLine pieces, each a line of its own,
//     so that one host cannot make the writer hold unbounded memory. All
//     complete lines of one Write go out in one write to the destination.
package fold
