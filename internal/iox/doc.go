// Package iox holds the small io helpers that several dproc packages need,
// written once: a reader that counts what it reads and can be stopped, a
// writer that serializes its writes, a reader that stops when a context
// ends, and the test of whether two writers are the same.
//
// # Choices
//
//   - [CountingReader] holds its lock during the underlying Read, so that
//     [CountingReader.Stop] waits for a Read in progress: once Stop returns,
//     the underlying reader is never read again and its owner may close or
//     reuse it. Give it only readers whose Read returns (files, memory,
//     a chunk); a Read blocked forever blocks Stop too.
//   - [SameWriter] answers "may these be the same writer?", the question a
//     caller asks to decide whether writes to two streams must share one
//     lock. Two writers of one dynamic type that == cannot compare (a
//     slice, a map or a func type, or a struct holding one) count as the
//     same: locking them together costs a little contention, while
//     treating them as different could let two goroutines write to one
//     underlying writer at once. os/exec answers the other way for such
//     writers (it then starts a copier per stream, which is safe for it).
//   - [ContextErr] reports ctx.Err() and, when the context was cancelled
//     with a cause (context.WithCancelCause), the cause too, in one error
//     that matches both with errors.Is: a caller testing for
//     context.Canceled and one testing for the cause (a "closed" sentinel,
//     say) both see what they expect.
package iox
