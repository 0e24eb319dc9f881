// Package dispatch runs a job over many hosts: it takes chunks from a
// [split.Splitter], runs the job's worker on each chunk on a free host slot
// through a [transport.Transport], and hands every chunk's output to a
// [gather.Gatherer], which publishes the result only when the whole run
// succeeded.
//
// All failure policy lives here, not in transports: a transport reports what
// happened (the worker exited with a status, or the host was lost), and the
// [Dispatcher] decides what to do about it, so every transport behaves the
// same.
//
// # Scheduling
//
// Each host offers a number of slots (Options.Slots, Options.HostSlots).
// A free slot pulls the next chunk, so a faster host, or one with more slots,
// does more of the work, and a slow host holds the run back by at most the
// chunks it is running. The splitter is asked for a new chunk only when a slot
// can take it, which bounds the memory a streaming input holds.
//
// Picking a host for a chunk costs the same however many hosts there are:
// the hosts that can take a chunk are kept indexed by their idle slots, an
// idle slot costs no goroutine (each attempt runs on a goroutine of its
// own), and a host whose Job has no Setup is ready without a round trip.
// A chunk goes to a host with the most idle slots among those it has not
// failed or been lost on, when there is one; among equals, in no
// particular order. The module's docs/coordinator.md measures where one
// coordinating process stops being enough and sketches fan-out through
// gateway hosts.
//
// # Hosts joining and leaving
//
// [Dispatcher.AddHosts] and [Dispatcher.RetireHost] change the hosts while
// runs go on, as GNU parallel does when its sshloginfile changes. A new
// host is set up and pulls chunks at once, in every run going on and in
// later ones; a retired host takes no new chunk ([HostRetired]) and its
// running attempts finish (or, if they fail or are lost, their chunks run
// on the other hosts). A run's report lists every host that took part in
// it, with HostReport.Retired for those retired before its end.
//
// # Modes
//
// In [Stream] mode (the default) the chunk goes to the worker's standard
// input over the transport's open connection and its standard output is the
// result: nothing touches the host's disk. In [Files] mode the chunk is
// uploaded, the worker runs on the file ({in}) and writes a result file
// ({out}), which is fetched; both files are removed afterwards, also when the
// attempt fails.
//
// # Setup
//
// Job.Setup files are installed into the job's directory (Job.Dir) on each
// host before its first chunk, with [dproc/nodeops.Install], which skips
// files whose content is already there and puts modes right. A host whose
// setup cannot reach it is treated as down; a host whose setup is refused
// stops the run (see Failures).
//
// # Failures
//
// Every chunk runs in attempts. An attempt's output goes to its own
// [gather.Output] and is committed only when the attempt succeeded, so a
// failed, lost or cancelled attempt leaves nothing behind and a chunk's output
// appears exactly once. Every error names the chunk, the host once, and the
// command as Job.Name gives it (the command the user wrote, when
// Job.Args or Job.Shell is a generated wrapper).
//
//   - Lost (the transport says [transport.ErrLost]: connection refused or
//     dropped, host killed, no exit status): the attempt is discarded and
//     the chunk runs again on another host, re-read from the input. The
//     host is marked down ([HostDown]): its slots stop pulling, and it is
//     probed with backoff (Options.ProbeInterval) until a probe and its
//     setup succeed ([HostUp]). Lost attempts are not failures, but a chunk
//     lost more than Options.MaxLost times fails the run with a
//     [*LostError] naming the command and every host's error.
//   - Timed out (Options.Timeout, Options.TimeoutFactor,
//     Options.TimeoutFallback): the attempt is cancelled and, while the
//     transport stops the worker, its host is probed once (within
//     Options.ProbeTimeout); the host is not reported down for the timeout
//     itself. If the probe fails, the host is marked down and the attempt
//     counts as lost. If the host
//     answers, the worker itself hung or was too slow: the attempt failed,
//     as below, with an error matching [ErrAttemptTimeout]. Timeouts share
//     Options.Retries with other failures rather than having a budget of
//     their own, as with GNU parallel's --timeout and --retries; the
//     report counts them apart (HostReport.Timeouts). So a slow worker
//     never makes a healthy host flap down and up.
//   - Failed (the worker exited non-zero, timed out on a host that answers,
//     or, with Options.RequireFullRead, left its input unread): the chunk
//     runs again within Options.Retries, on a host it has not failed on
//     when one is free; after that it fails. By default the first failed
//     chunk stops the run with a [*ChunkError]; Options.Halt can keep
//     going, and with RunOptions.Journal a rerun then runs only the chunks
//     that failed or never ran.
//   - Refused (any error that is not lost, not a worker's exit status and
//     not cancellation: a changed or unknown host key, failed
//     authentication, an unknown host name, a file the host cannot write):
//     the run stops at once with that error, naming the host. This holds
//     wherever the error appears: in an attempt, in the host's setup, and
//     in the probe of a host that was down or whose attempt timed out. A
//     host that can never work is a misconfiguration (or an attack) that
//     needs a person; running its work on the other hosts would hide it.
//   - When every host is down and has failed a probe since, the run stops at
//     once with a [*HostsDownError] listing each host's last error: it never
//     waits for hosts forever.
//
// # Unread input
//
// In Stream mode the dispatcher feeds each chunk to its worker's standard
// input. A worker that exits 0 before
// reading all of it (echo, head -n 1) leaves the rest unread: the run
// reports it in the [ChunkDone] event (Event.Unread), per host
// (HostReport.Unread) and in total with the chunks concerned
// (Report.Unread, Report.UnreadChunks). By default this is not an error,
// because workers that need only the start of their input are legitimate
// and failing them would make such jobs impossible; programs built on the
// library should warn. Options.RequireFullRead makes it a failure with an
// [*UnreadError]. The count is taken where the worker reads: the
// dispatcher asks the transport (transport.Command.Unread), and the
// transports of this module count what the worker left when it exited,
// input that an OS pipe or an SSH channel held for it included, by reading
// the rest of the chunk to its end; so the whole chunk is sent to a worker
// that reads only its start. With a transport that cannot tell, the count
// is what the transport took from the chunk, and input it buffered for the
// worker counts as read: a chunk smaller than that buffering may then go
// unnoticed. Either way the count never says a byte the worker read was
// unread.
//
// # Stalls
//
// A host that freezes (a machine that stops answering, a link gone silent)
// keeps its attempts' connections open without a word: nothing fails until a
// keepalive or a timeout gives up. The dispatcher does not wait for that. It
// watches every attempt's progress (the bytes of its chunk the transport
// takes, the bytes of output that arrive). When an attempt has been silent
// for 100 ms, its host is probed (for SSH, a keepalive request, which a live
// sshd answers even while its worker computes in silence), and again each
// time that silence doubles. An attempt is stalled ([ChunkStalled]) when its
// host has not answered that probe within 300 ms, or when it stays silent
// for much longer than the run's successful attempts ever were ([Stall]: 4
// times the median of their longest silences, at least 2 s) although its
// host answers. While no chunk waits and a slot is free on another host, a
// stalled attempt's chunk gets a speculative copy there ([ChunkSpeculated]),
// and the first copy to commit wins, exactly once. A host that fails its
// probe is down, and its attempts count as lost. So the work of a host that
// froze while its workers streamed moves about 0.4 s later, not after a
// keepalive timeout. It is on by
// default (Options.Stall.Off turns it off), and a healthy run, whose
// attempts keep moving bytes or whose hosts answer, launches no copy:
// [Report.Speculative] counts them.
//
// With Options.Speculate set, a chunk that runs much longer than the median
// attempt while nothing else waits gets a second copy on an idle host; the
// first copy to finish wins and the other is cancelled.
//
// # Cancellation
//
// Cancelling the context given to Run cancels every attempt (transports stop
// the worker on its host), closes the gatherer with the context's error, and
// returns promptly.
//
// # Observing a run
//
// RunOptions.Events receives an [Event] for each step (host ready, down and
// up; chunk started, done, lost, retried, failed), in order, from one
// goroutine. Run returns a [Report] with per-host counts (chunks done,
// failures, lost attempts, timeouts), bytes in and out, input left unread,
// and busy time: Busy, the wall time during which a host (for the run,
// any host) had an attempt running, which never exceeds the run's
// Elapsed, and SlotTime, the same time added up over slots (see
// [HostReport]). [Report.WriteCSV] and [Report.WriteJSON] write it for
// people and programs.
//
// # Runs, and what belongs to one
//
// A Dispatcher is the hosts, their slots and the failure policy
// ([Options]); it holds no other state between runs, and several Runs may
// go on at once. What belongs to one run is given to it: the job, the input, the
// gatherer, and [RunOptions] (its event callback, where its workers'
// standard error goes, its journal). Each run has an id, a random string
// of 12 hex digits, that every one of its events carries (Event.Run) and
// its report gives (Report.Run), so one callback can tell concurrent runs
// apart. The failure policy stays with the Dispatcher so that every run on
// it is held to the same rules; make another Dispatcher (they are cheap,
// and can share a Transport) for other rules.
//
// # The common case
//
// [Dispatcher.RunFile] runs a job over a file and writes the results to a
// file in input order, in one call: it opens the input with
// [split.OpenInput] (a regular file is read in place, a pipe or "-" is
// streamed), cuts it with [split.BlockSizeFor] for the Dispatcher's slots,
// and writes through [gather.File], which publishes the output by rename
// only when the run succeeded and removes its temporary file on every other
// path. Any other combination is [Dispatcher.Run] with the split and gather
// packages: RunFile is only that composition.
//
// # Errors
//
// Invalid arguments give errors that match [ErrInvalid], the value every
// dproc package shares; an empty host list is [ErrNoHosts]; a journal
// directory already in use by an earlier run, without RunOptions.Resume,
// is [ErrJournalExists], and one written for another job or input is
// [ErrJournalMismatch].
package dispatch
