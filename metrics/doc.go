// Package metrics reports on the hosts of a cluster: a one-shot status of
// every host, a sampler of CPU, memory and disk use that runs beside a job,
// and CSV output for both. (A dispatch run's report writes itself as CSV or
// JSON: see [dproc/dispatch.Report.WriteCSV].) It works over any
// [dproc/transport.Transport] and needs nothing on the hosts beyond a
// POSIX shell, cat, grep, sleep, uname, df and the Linux /proc files: no
// monitoring agent or extra package to install.
//
// # Status
//
// [Status] queries every host in parallel with one round trip each: it runs
// [StatusScript], which prints sections marked "##dproc NAME", and parses
// them in Go into a [HostStatus]: hostname, kernel, uptime, load averages,
// CPU count, memory and swap, and every filesystem of df -kP. A host that
// cannot be reached is a row whose Err is set, not a failed call; so is
// every host when the Transport is nil (its Err matches [ErrInvalid]).
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
// [ErrHostDown] and its last failure). [CSVWriter] writes samples as CSV,
// one row per measurement: timestamp, node, cpu, memory and io (the three
// percentages), then the bytes read and written per second.
//
// # Errors
//
// Invalid arguments (a nil Transport, an empty or repeated host name, a
// negative option) give errors that match [ErrInvalid], the value every
// dproc package shares; an empty host list also matches [ErrNoHosts],
// shared the same way. [Status] given no hosts returns no rows. Output from a host that cannot be parsed (a /proc
// file of an unexpected shape, df missing, output cut short) gives a
// [*ParseError] naming its section, which matches [ErrParse]. The parsers
// of the /proc files are not exported: what they read is the output of
// the package's own scripts, whose layout may change between releases.
//
// # Testing with fakes
//
// The scripts are exported constants so that a fake transport can serve
// fixture text for them: register a handler under [StatusScript] or
// [SamplerScript] with memtransport (the sampling interval arrives in the
// environment variable [IntervalEnv]). Package
// [dproc/metrics/metricstest] does that with a ready-made machine whose
// figures are known.
package metrics
