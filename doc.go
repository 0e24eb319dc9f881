// Package dproc is a library for distributed processing over SSH: it splits
// a large input into chunks, runs a worker program on many hosts in
// parallel, and gathers the results in input order, correctly, quickly and
// safely. It replaces hand-written ssh/scp scripts, GNU parallel -S and
// pdsh for that job.
//
// The root package holds only this overview. The work is done by small
// packages that callers compose into a pipeline:
//
//	input ──Splitter──► chunks ──Dispatcher──► host slots ──Transport──► worker
//	                                  │                                   │
//	                            events, report                     one output per attempt
//	                                                                      ▼
//	                                      final output ◄── Gatherer (commit in chunk order)
//
// The packages:
//
//   - [dproc/split]: Splitters cut an input into chunks that can be read
//     again: N chunks balanced by lines, line-aligned byte blocks read in
//     place, a non-seekable stream spooled within a memory budget, a list
//     of items. Records are never cut, and bytes are never changed.
//   - [dproc/transport]: the Transport interface (run a command on a host,
//     put a file, get a file), commands as argv, and typed errors that tell
//     a lost host from a failed worker.
//   - [dproc/nodeops]: node operations over any transport: install files
//     once, sync a directory tree, run one operation on many hosts.
//     Implementations: [dproc/transport/sshtransport] (OpenSSH-compatible,
//     strict host keys), [dproc/transport/localtransport] (local processes,
//     each host a directory) and [dproc/transport/memtransport] (an
//     in-memory fake with scripted faults, for tests).
//   - [dproc/dispatch]: the Dispatcher pulls chunks onto host slots, owns
//     every failure policy (lost work moves, failed work retries when asked,
//     down hosts are probed, a journal lets a killed run resume), and
//     reports events and per-host figures, which its Report writes as CSV
//     or JSON. [dproc/dispatch.Dispatcher.RunFile] is the common case in
//     one call: a file in, a command on the hosts, a file out in order.
//   - [dproc/gather]: Gatherers receive one output per attempt and publish
//     only committed ones: ordered concatenation with a bounded reorder
//     buffer, a file written atomically, one file per chunk, a k-way merge
//     of sorted outputs, a reduce.
//   - [dproc/metrics]: node status (uptime, load, memory, filesystems) in
//     one round trip per host, and CPU, memory and IO sampled from /proc
//     into a CSV file while a job runs.
//
// The same pipeline runs over SSH, over local processes or in memory; the
// example below runs it in memory.
package dproc
