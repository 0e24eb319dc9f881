// Package joblog writes and reads job logs in GNU parallel's --joblog
// format, so that scripts written for GNU parallel's logs read dproc's,
// and dproc can resume from either.
//
// A log is a header line, then one line per finished job, in the order
// jobs finish, fields separated by tabs:
//
//	Seq	Host	Starttime	JobRuntime	Send	Receive	Exitval	Signal	Command
//	1	node1	1796170381.223	     0.105	0	2	0	0	echo a
//
// [Writer] writes it, [Read] reads it back, [Seqs] says which jobs a
// resume skips or runs again, and [ExitStatus] maps a count of failed
// jobs to GNU parallel's exit status.
//
// # Fields
//
//   - Seq: the job's number in input order, from 1.
//   - Host: where the job ran, as written by the caller (GNU parallel writes
//     the sshlogin without its N/ prefix, and ":" for the local computer).
//   - Starttime: seconds since the epoch, 3 decimals.
//   - JobRuntime: seconds, 3 decimals, right-aligned in 10 columns.
//   - Send: bytes sent to the job; Receive: bytes of its standard output
//     (standard error is not counted, as in GNU parallel).
//   - Exitval: the exit code, 0..255; -1 when the job was killed by its
//     runner (a timeout, a cancel). Signal: the signal that ended the job,
//     else 0. A job failed when either is non-zero ([Entry.Failed]).
//   - Command: the command after substitution; a newline in it is written
//     as a NUL byte, as GNU parallel does, and tabs stay raw, so readers
//     cut a line at its first 8 tabs only.
//
// A test runs the installed GNU parallel, reads its log with [Read] and
// writes it again with [Writer]: the bytes are the same.
//
// # Choices
//
//   - Times are kept to the millisecond, the precision of the format:
//     [Entry.AppendLine] rounds to the nearest millisecond (halves away
//     from zero) and [Read] parses the decimals exactly, so a log read and
//     written again is unchanged.
//   - [Read] takes the header as optional and reads columns by position
//     (GNU parallel's tutorial shows an older header with "Runtime"). It
//     skips blank lines, and drops a last line that has no newline: a
//     writer killed mid-line leaves one, and its job then counts as not
//     logged, so a resume runs it again rather than trusting half a line.
//   - [Seqs] takes the last line of each seq, since resumed runs append
//     to the same log: a job that failed and then succeeded on a rerun is
//     done.
//   - [Writer] is safe for concurrent use and writes each line in one
//     Write call, so lines of jobs finishing at once never mix; once the
//     file fails it keeps returning that error, so a log never has a hole
//     in the middle.
package joblog
