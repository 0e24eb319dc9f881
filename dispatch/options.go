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
	// away, timed out or refused the connection) before the run gives up
	// on it with every host's error. Default: the number of hosts plus 2.
	MaxLost int

	// Timeout bounds each attempt. An attempt that runs longer is
	// cancelled, counts as lost, and its chunk runs again elsewhere.
	// Zero means no absolute bound.
	Timeout time.Duration

	// TimeoutFactor, when above zero, bounds each attempt relative to the
	// median duration of the successful attempts so far, once there are
	// at least 3 (GNU parallel's --timeout 200% is TimeoutFactor 2). With
	// Timeout also set, the smaller bound applies.
	TimeoutFactor float64

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
	// refused with an error wrapping [ErrJournalMismatch]; each recorded
	// chunk is re-read and checked before its output is used.
	Resume bool
}

// Halt is the policy for failed chunks (chunks whose worker exited
// non-zero after their retries), after GNU parallel's --halt.
type Halt struct {
	// KeepGoing runs every chunk even after failures, and reports every
	// failed chunk at the end in a [*FailedChunksError]. The result is
	// still discarded by the gatherer, since it would be incomplete.
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
)
