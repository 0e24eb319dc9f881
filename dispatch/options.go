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
	// that file's path, fetches the result file and removes both (the
	// upload, run, download pattern of scp + ssh + scp), for workers that
	// need a file. Every occurrence of "{in}" and "{out}" in an argument
	// of Job.Args (or in Job.Shell, where each path is inserted quoted)
	// is replaced by the input and result paths, relative to Job.Dir.
	// When the command does not mention "{out}", the worker's standard
	// output is the result.
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

// Job is the work a [Dispatcher] runs on every chunk: the worker's command
// (Args or Shell, Dir, Env), how chunks reach it (Mode), the files it needs
// on each host (Setup), and how messages name it (Name). A Job has no
// standard streams: the dispatcher connects each attempt's input, output
// and standard error itself (see [RunOptions.Stderr]).
type Job struct {
	// Args is the worker's argument vector; Args[0] names the program,
	// looked up in the host's PATH unless it contains a slash. The
	// transport quotes it for the host, so each argument arrives exactly
	// as given. Set Args or Shell, not both.
	Args []string

	// Shell is a command line run by the host's POSIX shell (/bin/sh -c),
	// for pipelines and redirections, instead of Args. It is passed on
	// unmodified: quoting values inside it is the caller's job (see
	// [transport.Quote]).
	Shell string

	// Dir is the worker's working directory on every host; empty means
	// the home directory, and a relative path is resolved against it.
	// Setup files are installed there.
	Dir string

	// Env lists extra environment variables, each "KEY=VALUE", added to
	// the worker's environment. Their values never appear in errors or
	// in a journal (which keeps a digest of them only).
	Env []string

	// Mode is how chunks travel; the zero value is [Stream].
	Mode Mode

	// Setup lists files (worker scripts, binaries, data) installed into
	// Dir on each host before its first chunk: a file whose content is
	// already there is not sent again, and every file gets its mode.
	Setup []transport.File

	// Name is how errors and events name the worker: the command as the
	// user wrote it, when Args or Shell is a generated wrapper (a script
	// installed by Setup, say). It is only a label: it does not change
	// what runs, nor which journal a run may resume. Every
	// [*transport.ExitError] of the job carries it as its Command. Empty
	// means the command as [Job.String] renders it.
	Name string
}

// String returns the job's command as a POSIX shell would read it: Args
// quoted and joined by spaces, or Shell as it is. Env values are left out.
func (j *Job) String() string {
	c := j.command()
	return c.String()
}

// command is the transport command the job's fields describe, without
// streams.
func (j *Job) command() transport.Command {
	return transport.Command{Args: j.Args, Shell: j.Shell, Dir: j.Dir, Env: j.Env}
}

// name is how messages name the job's worker.
func (j *Job) name() string {
	if j.Name != "" {
		return j.Name
	}
	return j.String()
}

// RunOptions are the settings of one run, given to [Dispatcher.Run] or
// [Dispatcher.RunFile]: what observes it and where it keeps its journal.
// They are per run, not per Dispatcher, so that concurrent Runs on one
// Dispatcher each have their own. The zero value, and a nil *RunOptions,
// observe nothing and keep no journal.
type RunOptions struct {
	// Events, when set, is called for every [Event] of the run, one at a
	// time and in order, from the run's scheduling goroutine: it must
	// return quickly and must not call back into the Dispatcher. Each
	// Event carries the run's id (Event.Run), so one callback can serve
	// several concurrent runs.
	Events func(Event)

	// Stderr, when set, receives the run's workers' standard error, each
	// write whole (writes from different workers do not interleave
	// within one Write call). By default it is dropped; its tail is
	// always kept in errors.
	Stderr io.Writer

	// StderrFor, when set, is called as each attempt starts, with the
	// attempt's host, chunk and attempt number (from 1), and the writer it
	// returns receives that attempt's standard error instead of Stderr
	// (nil drops it): for keeping each job's standard error apart, as GNU
	// parallel's --results and --tag do. It is called from the attempt's
	// own goroutine, so it must be safe for concurrent use; the writer is
	// used by that attempt only, and is written to no more once the
	// attempt's ChunkDone, ChunkRetry, ChunkLost, ChunkFailed or
	// ChunkCancelled event has been sent.
	StderrFor func(host string, chunk, attempt int) io.Writer

	// Journal, when set, is a directory where every committed chunk is
	// recorded durably: its output is kept under Journal/results and a
	// line with the chunk's position, an input checksum and an output
	// checksum is appended to Journal/journal.log and fsynced. A run
	// killed half way (even with SIGKILL) can then be resumed with Resume.
	// A run without Resume refuses a directory that already holds a
	// journal, with an error wrapping [ErrJournalExists]. The directory
	// is left in place after the run; remove it when the result is no
	// longer needed. A run whose journal another run (in this process or
	// another) is using at the same time is refused with an error wrapping
	// ErrJournalExists too: the journal is locked while a run has it.
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
	// those that never ran: GNU parallel's --resume-failed. Resume
	// without Journal is an error wrapping [ErrInvalid].
	Resume bool
}

// Options configure a [Dispatcher]: its hosts' slots and the failure policy
// every run on it follows. What belongs to one run (events, standard error,
// the journal) is in [RunOptions]. The zero value, and a nil *Options, give
// the defaults each field documents.
type Options struct {
	// Slots is how many chunks run at once on each host. Default 2: one
	// chunk can travel while another is computed.
	Slots int

	// HostSlots overrides Slots for the hosts it names. A host's slot count
	// is its weight: pull scheduling hands a host with more slots, or a
	// faster host, more chunks. A host with 0 slots here gets the default;
	// a negative count is an error.
	HostSlots map[string]int

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

	// ProbeTimeout bounds one probe of a host: of a down host, and of the
	// host of an attempt that timed out or stalled. Default 10 s.
	ProbeTimeout time.Duration

	// Speculate, when above zero, runs a second copy of a chunk on an idle
	// host once no chunk is waiting and the chunk has run longer than
	// Speculate times the median successful attempt (Hadoop's speculative
	// execution). The first copy to finish wins; the other is cancelled
	// and its output discarded. Zero disables it.
	Speculate float64

	// Stall is how the dispatcher notices an attempt that stopped making
	// progress (a frozen host, a link gone silent) and starts a copy of
	// it elsewhere. It is on by default; see [Stall].
	Stall Stall
}

// Stall configures stall detection, which is on by default.
//
// An attempt makes progress whenever the transport takes a byte of its
// chunk (the worker's standard input, or the upload in Files mode) or a
// byte of its output arrives. Its silence is the time since it last made
// progress, or since it started. Every attempt that succeeds leaves its
// longest silence, start to first byte and last byte to end included, as
// a sample of what a healthy attempt of the run looks like: for a worker
// that streams it is short, for one that reads everything and then
// computes (sort) it is the computing time.
//
// An attempt is stalled when its silence exceeds the run's stall limit:
// Factor times the median of those samples, but never less than Floor;
// while fewer than 3 attempts have succeeded, Factor times Floor.
//
// A frozen host is told apart sooner than that from a worker that computes
// in silence: as soon as an attempt has been silent for a third of Answer,
// its host is probed ([transport.Ping]; for SSH, a keepalive request on its
// connection, which sshd answers even while the worker computes), and again
// each time the attempt's silence doubles. If the host has not answered
// within Answer, every attempt of the host silent for a third of Answer or
// longer is stalled at once. If it answers, its attempts run on, and count
// as stalled only past the stall limit. So a host that freezes while its
// workers stream is found 4/3 of Answer later (400 ms by default), and one
// that freezes while its worker computes in silence is found once that
// silence has doubled and Answer has passed. A silent worker on a live host
// costs a keepalive each time its silence doubles, and a host that is
// merely slow to answer costs at worst a speculative copy, never a lost
// attempt.
//
// When an attempt stalls, a [ChunkStalled] event reports it and:
//
//   - if no chunk waits for a slot and another host has a free slot, a
//     speculative copy of the chunk starts there ([ChunkSpeculated]); the
//     first copy to commit wins and the other is cancelled, so the output
//     appears exactly once. A chunk gets at most one copy at a time. If
//     no slot is free, the check is made again until one is.
//   - its host is probed, unless a probe of it is under way, and the host
//     takes no new chunk until the probe answers (within
//     Options.ProbeTimeout). A host that fails the probe is down
//     ([HostDown]): every attempt still running on it is cancelled and
//     counts as lost, so its chunk runs again elsewhere unless a copy
//     already runs, and the host is probed with backoff as after any lost
//     attempt. A host that answers keeps its attempts: the worker is only
//     slow or silent.
//
// A healthy run, however slow its workers, launches no copy as long as
// each attempt keeps making progress at about the pace of the others, or
// its host answers probes within Answer: [Report.Speculative] counts the
// copies launched.
type Stall struct {
	// Off turns stall detection off.
	Off bool

	// Factor is how many times longer than a healthy attempt's longest
	// silence an attempt may stay silent before it counts as stalled.
	// Default 4.
	Factor float64

	// Floor is the least silence that counts as a stall on a host that
	// answers its probe, however short the healthy attempts' silences, so
	// that the pauses of a loaded machine or network do not count.
	// Default 2 s.
	Floor time.Duration

	// Answer is how soon a host must answer the probe sent when one of
	// its attempts has been silent for a third of Answer. A host that has
	// not answered by then makes its silent attempts stalled at once,
	// however far their silence is below the stall limit. Default 300 ms,
	// or Floor if that is shorter.
	Answer time.Duration
}

// Halt is the policy for failed chunks (chunks whose worker exited
// non-zero after their retries), after GNU parallel's --halt.
type Halt struct {
	// KeepGoing runs every chunk even after failures, and reports every
	// failed chunk at the end in a [*FailedChunksError]. The result is
	// still discarded by the gatherer, since it would be incomplete. With
	// RunOptions.Journal, every chunk that succeeded is kept there, so a
	// rerun with RunOptions.Resume runs only the failed and missing chunks
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
	defaultStallFactor   = 4
	defaultStallFloor    = 2 * time.Second
	defaultStallAnswer   = 300 * time.Millisecond
)
