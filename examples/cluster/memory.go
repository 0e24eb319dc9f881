package main

import (
	"os"
	"runtime/debug"

	"dproc/split"
)

// The coordinator's memory. Most of its live heap over SSH is data
// received and not yet written: golang.org/x/crypto/ssh lets every
// session's host send up to the channel window (2 MiB) ahead of the
// reader, and a reader held up by a slow write to the result file or a
// spill file (tens of milliseconds at times) lets it fill. Beside that
// live heap the Go runtime's default pacing (GOGC=100) lets the heap grow
// to twice the live heap between collections, so that the peak RSS was
// about twice the peak live heap plus the binary: 46-55 MiB for 3 hosts
// with 2 slots each. A soft memory limit sized for the run's worst case
// bounds the heap instead; with it the collector can also run less often
// while the live heap is small (gcPercent), which keeps its CPU at or
// below that of the default pacing.
const (
	// memoryBase is the allowance for everything but the session
	// windows and the reorder buffer: the runtime's own memory (GC
	// metadata, stacks, about 5 MiB), the splitter's scan buffer (1 MiB),
	// copy buffers, and room for garbage between collections.
	memoryBase = 10 << 20
	// memoryPerSession is what one running attempt's SSH session can
	// hold: its full channel window.
	memoryPerSession = 2 << 20
	// gcPercent is the GOGC that goes with the limit: the heap may grow
	// to 5 times the live heap between collections, but never past the
	// limit, which is what bounds it in practice. Without the limit (a
	// GOMEMLIMIT of the user's) it is not used.
	gcPercent = 400
)

// memoryLimit is the soft memory limit of a run with sessions attempts
// running at once (hosts times slots): the base allowance, the reorder
// buffer of the output, a full channel window per session and, for a
// streamed input, the splitter's memory budget for the chunks it holds.
// For 3 hosts with 2 slots and a file input it is 24 MiB; the peak RSS
// is then that plus the mapped binary (about 8 MiB).
func memoryLimit(sessions int, streamed bool) int64 {
	limit := int64(memoryBase) + outputBudget + int64(sessions)*memoryPerSession
	if streamed {
		limit += split.DefaultMemoryBudget
	}
	return limit
}

// tuneGC, when set, is called once per run with its memoryLimit. main
// sets it to setMemoryLimit; tests leave it nil, so that a test binary's
// collector is left alone.
var tuneGC func(limit int64)

// setMemoryLimit sets the Go runtime's soft memory limit to limit, and
// GOGC to gcPercent, unless the environment sets them: a GOMEMLIMIT of
// the user's leaves both alone (a higher GOGC without the limit would
// only cost memory), a GOGC of the user's leaves GOGC alone. The limit is
// soft: were the live heap to outgrow it, the collector would run more
// often (at most about half the CPU, by the runtime's own cap) rather
// than fail.
func setMemoryLimit(limit int64) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
