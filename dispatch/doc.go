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
// Job.Setup files are installed into the job's directory on each host before
// its first chunk, with [transport.Setup], which skips files whose content
// is already there and puts modes right. A host whose setup fails is treated as down.
//
// # Failures
//
// Every chunk runs in attempts. An attempt's output goes to its own
// [gather.Output] and is committed only when the attempt succeeded, so a
// failed, lost or cancelled attempt leaves nothing behind and a chunk's output
// appears exactly once.
//
//   - Lost (the transport says [transport.ErrLost]: connection refused or
//     dropped, host killed, no exit status), or timed out (Options.Timeout,
//     Options.TimeoutFactor): the attempt is discarded and the chunk runs
//     again on another host, re-read from the input. The host is marked down
//     ([HostDown]): its slots stop pulling, and it is probed with backoff
//     (Options.ProbeInterval) until a probe and its setup succeed ([HostUp]).
//     Lost attempts are not failures, but a chunk lost more than
//     Options.MaxLost times fails the run with a [*LostError] holding every
//     host's error.
//   - Failed (the worker exited non-zero, or a file could not be written):
//     the chunk runs again within Options.Retries, on a host it has not failed
//     on when one is free; after that it fails. By default the first failed
//     chunk stops the run with a [*ChunkError]; Options.Halt can keep going.
//   - Refused (any other error: a changed or unknown host key, failed
//     authentication, an unknown host name, a file the host cannot write,
//     during an attempt or the host's setup): the run stops at once with
//     that error, naming the host. Running the work elsewhere would only
//     hide a problem that needs a person, possibly an attack.
//   - When every host is down and has failed a probe since, the run stops at
//     once with a [*HostsDownError] listing each host's last error: it never
//     waits for hosts forever.
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
// Options.Events receives an [Event] for each step (host ready, down and up;
// chunk started, done, lost, retried, failed), in order, from one goroutine.
// Run returns a [Report] with per-host counts, bytes and busy time.
package dispatch
