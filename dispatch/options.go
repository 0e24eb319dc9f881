package dispatch

import (
	"io"
	"time"

	"dproc/transport"
)

// Mode says how a chunk reaches the worker and how its result comes back.
type Mode int

const (
	// Stream pipes the chunk into the worker's standard input over the
	// transport's open connection and takes its standard output as the
	// result. Nothing is written to the host's disk. It is the default.
	Stream Mode = iota

	// Files uploads the chunk to a file on the host, runs the worker with
	// that file's path, fetches the result file and removes both: the
	// seed's scp + ssh + scp path, for workers that need a file. In
	// Job.Command, every occurrence of "{in}" and "{out}" in an argument
	// (or in the Shell line, where each path is inserted quoted) is
	// replaced by the input and result paths. When the command does not
	// mention "{out}", the worker's standard output is the result.
	Files
)

func (m Mode) String() string {
	switch m {
	case Stream:
		return "stream"
	case Files:
		return "files"
	}
	return "mode(?)"
}

// Job is the work a [Dispatcher] runs on every chunk.
type Job struct {
	// Command is the worker. Its Dir is the working directory on every
	// host (empty means the home directory): setup files are installed
	// there and the command runs there. Env is passed on. Stdin, Stdout
	// and Stderr must be nil: the dispatcher connects them.
	Command transport.Command

	// Mode is how chunks travel; the zero value is [Stream].
	Mode Mode

	// Setup lists files (worker scripts, binaries, data) installed into
	// Command.Dir on each host before its first chunk, with
	// [transport.Setup]: a file whose content is already there is not
	// sent again, and every file gets its mode.
	Setup []transport.File

	// Name is how errors and events name the worker: the command as the
	// user wrote it, when Command is a generated wrapper (a script
	// installed by Setup, say). It is only a label: it does not change
	// what runs, nor which journal a run may resume. Every
	// [*transport.ExitError] of the job carries it as its Command. Empty
	// means Command.String().
	Name string
}

// name is how messages name the job's worker.
func (j *Job) name() string {
	if j.Name != "" {
		return j.Name
	}
	return j.Command.String()
}

// Options configure a [Dispatcher]. The zero value, and a nil *Options,
// give the defaults each field documents.
type Options struct {
	// Slots is how many chunks run at once on each host. Default 2: one
	// chunk can travel while another is computed.
	Slots int

	// HostSlots overrides Slots for the hosts it names. A host's slot count
	// is its weight: pull scheduling hands a host with more slots, or a
	// faster host, more chunks. A host with 0 slots here gets the default;
	// a negative count is an error.
	HostSlots map[string]int

	// Events, when set, is called for every [Event], one at a time and in
	// order, from the dispatcher's scheduling goroutine: it must return
	// quickly and must not call back into the Dispatcher.
	Events func(Event)

	// Stderr, when set, receives the workers' standard error, each write
	// whole (writes from different workers do not interleave within one
	// Write call). By default it is dropped; its tail is always kept in
	// errors.
	Stderr io.Writer

	// Retries is how many more times a chunk whose worker exited non-zero
	// runs, on another host when one is free, before the failure counts
	// (GNU parallel's --retries). Default 0: a failed worker fails the
	// chunk at once. Lost attempts (see [transport.ErrLost]) are not
	// failures and do not use up Retries.
	Retries int

	// MaxLost bounds how many times one chunk may be lost (its host went
	// away, dropped the connection, or stopped answering while the attempt
	// ran) before the run gives up on it with a [*LostError] naming the
	// command and every host's error. Default: the number of hosts plus 2.
	MaxLost int

	// Timeout bounds each attempt. An attempt that runs longer is
	// cancelled and its host is probed at once: when the probe fails, the
	// host is marked down and the attempt counts as lost (its chunk runs
	// again elsewhere, not using up Retries); when the probe succeeds,
	// the attempt failed, like a worker exiting non-zero, and is retried
	// within Retries. Zero means no absolute bound.
	Timeout time.Duration

	// TimeoutFactor, when above zero, bounds each attempt relative to the
	// median duration of the successful attempts so far, once there are
	// at least 3 (GNU parallel's --timeout 200% is TimeoutFactor 2). With
	// Timeout also set, the smaller bound applies. The relative bound is
	// never below TimeoutFloor. Until the median exists, attempts are
	// bounded by Timeout or, without it, by TimeoutFallback, so a run
	// whose every worker hangs still ends.
	TimeoutFactor float64

	// TimeoutFallback bounds each attempt while TimeoutFactor has no
	// median to work from (fewer than 3 successful attempts) and Timeout
	// is zero. Default 10 minutes: long enough for the large chunks
	// TimeoutFactor is meant for, short enough that a run whose every
	// worker hangs ends with an error. It has no effect without
	// TimeoutFactor.
	TimeoutFallback time.Duration

	// TimeoutFloor is the least bound TimeoutFactor gives an attempt, so
	// that chunks taking milliseconds are not cancelled by the jitter of
	// a loaded machine or network. Default 1 s. It has no effect without
	// TimeoutFactor; an absolute Timeout below it still applies.
	TimeoutFloor time.Duration

	// RequireFullRead makes an attempt whose worker exited 0 without
	// reading the whole of its chunk from standard input fail with an
	// [*UnreadError] (retried within Retries, then failing the chunk).
	// By default such an attempt succeeds and the unread bytes are only
	// reported (Event.Unread, Report.Unread, HostReport.Unread): workers
	// that need only the start of their input, such as head, are
	// legitimate. It applies to Stream mode only.
	RequireFullRead bool

	// Halt says when failed chunks end the run; the zero value fails fast.
	Halt Halt

	// ProbeInterval is the first wait before a host that was marked down
	// is probed again; later waits double up to 30 s. Default 500 ms.
	ProbeInterval time.Duration

	// ProbeTimeout bounds one probe of a down host. Default 10 s.
	ProbeTimeout time.Duration

	// Speculate, when above zero, runs a second copy of a chunk on an idle
	// host once no chunk is waiting and the chunk has run longer than
	// Speculate times the median successful attempt (Hadoop's speculative
	// execution). The first copy to finish wins; the other is cancelled
	// and its output discarded. Zero disables it.
	Speculate float64

	// Journal, when set, is a directory where every committed chunk is
	// recorded durably: its output is kept under Journal/results and a
	// line with the chunk's position, an input checksum and an output
	// checksum is appended to Journal/journal.log and fsynced. A run
	// killed half way (even with SIGKILL) can then be resumed with Resume.
	// A run without Resume refuses a directory that already holds a
	// journal. The directory is left in place after the run; remove it
	// when the result is no longer needed.
	Journal string

	// Resume, with Journal, skips every chunk the journal records as
	// committed and feeds its kept output to the gatherer instead, so the
	// final output is byte-identical to an uninterrupted run. A journal
	// written for another job (command, directory, environment, mode or
	// setup files differ) or whose chunks no longer match the input is
	// refused with an error wrapping [ErrJournalMismatch] that says what
	// differs (the command, a setup file's content, ...); each recorded
	// chunk is re-read and checked before its output is used. A journal
	// records committed chunks only, so resuming a run that ended with
	// failed chunks (Halt.KeepGoing) runs exactly the failed chunks and
	// those that never ran: GNU parallel's --resume-failed.
	Resume bool
}

// Halt is the policy for failed chunks (chunks whose worker exited
// non-zero after their retries), after GNU parallel's --halt.
type Halt struct {
	// KeepGoing runs every chunk even after failures, and reports every
	// failed chunk at the end in a [*FailedChunksError]. The result is
	// still discarded by the gatherer, since it would be incomplete. With
	// Options.Journal, every chunk that succeeded is kept there, so a
	// rerun with Options.Resume runs only the failed and missing chunks
	// (GNU parallel's --resume-failed) and completes the result.
	KeepGoing bool

	// Share, with KeepGoing, stops the run early once more than this
	// share (0 to 1) of the chunks seen so far have failed. Zero means no
	// early stop.
	Share float64
}

const (
	defaultSlots         = 2
	defaultProbeInterval = 500 * time.Millisecond
	maxProbeInterval     = 30 * time.Second
	defaultProbeTimeout  = 10 * time.Second
	minTimeoutSamples    = 3
	defaultFallback      = 10 * time.Minute
	defaultFloor         = time.Second
)
