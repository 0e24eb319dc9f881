package dispatch

import (
	"fmt"
	"time"
)

// EventKind tells what an [Event] reports.
type EventKind int

const (
	// HostReady: the host's setup finished (Err nil) and its slots pull
	// chunks.
	HostReady EventKind = iota + 1
	// HostDown: the host lost an attempt, failed its setup, or failed the
	// probe that follows an attempt's timeout; its slots stop pulling and
	// it is probed with backoff. Err says why. A host that is already down
	// is not reported down again.
	HostDown
	// HostUp: a probe of a down host succeeded; its slots pull again.
	HostUp
	// ChunkStarted: an attempt at Chunk began on Host.
	ChunkStarted
	// ChunkDone: an attempt at Chunk succeeded and its output was
	// committed. Bytes is the output size, Duration the attempt's time,
	// Unread the bytes of the chunk the worker did not read.
	ChunkDone
	// ChunkLost: an attempt was lost (Err matches transport.ErrLost), or
	// timed out on a host whose probe then failed (Err matches both
	// ErrAttemptTimeout and transport.ErrLost); the chunk will run again
	// elsewhere.
	ChunkLost
	// ChunkRetry: an attempt's worker failed, timed out on a host that
	// still answers (Err matches ErrAttemptTimeout), or left its input
	// unread under Options.RequireFullRead, and the chunk will run again,
	// within Options.Retries.
	ChunkRetry
	// ChunkFailed: the chunk failed for good; Err says why.
	ChunkFailed
	// ChunkSpeculated: a second copy of a slow chunk started on Host.
	ChunkSpeculated
	// ChunkCancelled: an attempt was cancelled because another copy of
	// the chunk won, or the run ended.
	ChunkCancelled
	// ChunkResumed: the chunk's output came from the journal of an earlier
	// run (Options.Resume); nothing ran. Host is empty.
	ChunkResumed
)

var kindNames = map[EventKind]string{
	HostReady: "host-ready", HostDown: "host-down", HostUp: "host-up",
	ChunkStarted: "chunk-started", ChunkDone: "chunk-done", ChunkLost: "chunk-lost",
	ChunkRetry: "chunk-retry", ChunkFailed: "chunk-failed", ChunkSpeculated: "chunk-speculated",
	ChunkCancelled: "chunk-cancelled", ChunkResumed: "chunk-resumed",
}

func (k EventKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event reports one thing that happened during a run. Fields that do not
// apply to a kind are zero; Chunk is -1 for host events.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Host     string
	Chunk    int
	Attempt  int           // 1 for a chunk's first attempt
	Bytes    int64         // output bytes, for ChunkDone
	Unread   int64         // bytes of the chunk the worker did not read, for ChunkDone (Stream mode)
	Duration time.Duration // the attempt's duration, for ChunkDone, ChunkLost, ChunkRetry, ChunkFailed
	Err      error
}

func (e Event) String() string {
	s := e.Kind.String()
	if e.Host != "" {
		s += " host=" + e.Host
	}
	if e.Chunk >= 0 && e.Kind >= ChunkStarted {
		s += fmt.Sprintf(" chunk=%d attempt=%d", e.Chunk, e.Attempt)
	}
	if e.Unread > 0 {
		s += fmt.Sprintf(" unread=%d", e.Unread)
	}
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	return s
}

// Report sums up a run.
type Report struct {
	Chunks   int           // chunks in the input
	Done     int           // chunks committed
	Failed   int           // chunks that failed for good
	Resumed  int           // chunks whose output came from the journal
	BytesIn  int64         // chunk bytes sent to workers, all attempts
	BytesOut int64         // committed output bytes
	Elapsed  time.Duration // wall time of the run

	// Unread is how many bytes of the committed chunks their workers did
	// not read (Stream mode), and UnreadChunks which chunks, in order.
	Unread       int64
	UnreadChunks []int
	Hosts        []HostReport // one per host, in the order given to New
}

// HostReport sums up one host's part of a run.
type HostReport struct {
	Host     string
	Slots    int
	Tasks    int           // attempts committed on this host
	Failures int           // attempts whose worker failed
	Lost     int           // attempts lost (including timeouts whose probe failed)
	Timeouts int           // attempts that ran past the attempt timeout
	Retries  int           // attempts that were retries of a failed or lost attempt
	BytesIn  int64         // chunk bytes sent to this host
	BytesOut int64         // output bytes received from this host, committed attempts only
	Unread   int64         // bytes of committed chunks the worker left unread on this host
	Busy     time.Duration // summed attempt time (over all its slots)
	Down     bool          // whether the host was down when the run ended
	LastErr  error         // the host's last error, if any
}

// Throughput returns the input bytes the host took per second of busy time
// (summed over its slots), or 0 when it did no work.
func (h HostReport) Throughput() float64 {
	if h.Busy <= 0 {
		return 0
	}
	return float64(h.BytesIn) / h.Busy.Seconds()
}
