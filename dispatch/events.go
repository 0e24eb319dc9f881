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
	// ErrAttemptTimeout and transport.ErrLost), or was cancelled because
	// it stalled and its host then failed a probe (Err matches ErrStalled
	// and transport.ErrLost); the chunk will run again elsewhere, unless
	// a copy of it committed already.
	ChunkLost
	// ChunkRetry: an attempt's worker failed, timed out on a host that
	// still answers (Err matches ErrAttemptTimeout), or left its input
	// unread under Options.RequireFullRead, and the chunk will run again,
	// within Options.Retries.
	ChunkRetry
	// ChunkFailed: the chunk failed for good; Err says why.
	ChunkFailed
	// ChunkSpeculated: a second copy of a slow (Options.Speculate) or
	// stalled ([ChunkStalled]) chunk started on Host.
	ChunkSpeculated
	// ChunkCancelled: an attempt was cancelled because another copy of
	// the chunk won, or the run ended.
	ChunkCancelled
	// ChunkResumed: the chunk's output came from the journal of an earlier
	// run (RunOptions.Resume); nothing ran. Host is empty.
	ChunkResumed
	// ChunkStalled: the attempt at Chunk on Host made no progress for
	// longer than the run's stall limit (see [Stall]); Duration is that
	// silence. A copy starts elsewhere when a slot is free, and Host is
	// probed.
	ChunkStalled
	// HostRetired: the host was retired from the run
	// ([Dispatcher.RetireHost]); its slots take no new chunk, and its
	// running attempts finish.
	HostRetired
)

var kindNames = map[EventKind]string{
	HostReady: "host-ready", HostDown: "host-down", HostUp: "host-up",
	ChunkStarted: "chunk-started", ChunkDone: "chunk-done", ChunkLost: "chunk-lost",
	ChunkRetry: "chunk-retry", ChunkFailed: "chunk-failed", ChunkSpeculated: "chunk-speculated",
	ChunkCancelled: "chunk-cancelled", ChunkResumed: "chunk-resumed", ChunkStalled: "chunk-stalled",
	HostRetired: "host-retired",
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
	Run      string // the run's id, as in Report.Run: tells concurrent runs apart
	Host     string
	Chunk    int
	Attempt  int           // 1 for a chunk's first attempt
	Bytes    int64         // output bytes, for ChunkDone
	Unread   int64         // bytes of the chunk the worker did not read, for ChunkDone (Stream mode)
	Duration time.Duration // the attempt's duration, for ChunkDone, ChunkLost, ChunkRetry, ChunkFailed; its silence, for ChunkStalled
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
