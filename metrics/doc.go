// Package metrics reports on the hosts of a cluster and on dispatch runs:
// a one-shot status of every host, a sampler of CPU, memory and disk use
// that runs beside a job, CSV output for both, and a dispatch run's report
// as CSV or JSON. It works over any [dproc/transport.Transport] and needs nothing
// on the hosts beyond a POSIX shell, cat, grep, sleep, uname, df and the
// Linux /proc files (no sysstat, no agent).
//
// # Status
//
// [Status] queries every host in parallel with one round trip each: it runs
// [StatusScript], which prints sections marked "##dproc NAME", and parses
// them in Go into a [HostStatus]: hostname, kernel, uptime, load averages,
// CPU count, memory and swap, and every filesystem of df -kP. A host that
// cannot be reached is a row whose Err is set, not a failed call.
// [WriteStatusTable] prints the rows as aligned tables.
//
// # Sampling
//
// A [Sampler] keeps one long-running session per host, running
// [SamplerScript], which prints /proc/uptime, the cpu line of /proc/stat,
// /proc/meminfo and /proc/diskstats every interval. The difference between
// two frames gives a [Sample]: CPU busy %, memory used %, disk busy % and
// bytes read and written per second. Rates use the host's own uptime clock.
// A host whose session ends leaves a gap: the callback gets a Sample with
// Err set, and the session is started again with backoff while the other
// hosts go on. [SamplerOptions.Count] bounds the attempts per host, failed
// ones included, so a run with a count ends even when a host never answers;
// a host still failing then is reported as a [*HostDownError] (matching
// [ErrHostDown] and its last failure). [CSVWriter] writes samples in the seed's metrics.csv layout
// (timestamp,node,cpu,memory,io) followed by the byte rates.
//
// # Run statistics
//
// [WriteReportCSV] and [WriteReportJSON] write a [dproc/dispatch.Report]: per
// host, the chunks, bytes in and out, busy time, throughput, failures, lost
// attempts and retries, and a total; [NewRunStats] gives the same figures
// as a value.
//
// # Parsers
//
// The parsers ([ParseStatus], [ParseMeminfo], [ParseStat],
// [ParseDiskstats], [ParseDF], [ParseUptime], [ParseLoadavg]) are pure
// functions over the text of the /proc files and commands. Malformed input
// gives a [*ParseError] naming its section, which matches [ErrParse].
//
// # Testing with fakes
//
// The scripts are exported constants so that a fake transport can serve
// fixture text for them: register a handler under [StatusScript] or
// [SamplerScript] with memtransport (the sampling interval arrives in the
// environment variable [IntervalEnv]).
package metrics
