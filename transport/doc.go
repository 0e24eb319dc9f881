// Package transport defines how dproc reaches its hosts: the [Transport]
// interface, the [Command] it runs, the errors every transport reports, the
// optional capabilities a transport may have ([Pinger], [Remover],
// [Checksummer], [Tree], [Locator]) and the helpers that use a capability
// when the transport has it and fall back to plain commands when it does not
// ([Ping], [Remove], [Checksums]).
//
// A Transport is addressed by host, the way an [net/http.RoundTripper] serves
// every URL: one value owns the connections to all hosts and is safe for
// concurrent use. Hosts are plain strings; what a host string means is the
// transport's business (an ssh_config alias, a directory name, a key in a
// map).
//
// Three transports ship with dproc:
//
//   - [dproc/transport/sshtransport]: OpenSSH-compatible hosts over
//     golang.org/x/crypto/ssh and SFTP.
//   - [dproc/transport/localtransport]: each host is a directory on this
//     machine; commands run as local processes.
//   - [dproc/transport/memtransport]: an in-memory fake with scripted faults,
//     for tests and examples.
//
// The operations built over a Transport on one host or many (installing
// files, syncing a tree, listing and changing a tree with a shell fallback)
// are in [dproc/nodeops]. No transport imports that package: the optional
// interfaces it looks for are defined here.
//
// # The contract
//
// Every Transport keeps the rules R1 to R11 written on the [Transport]
// interface and on the optional interfaces, and
// [dproc/transport/transporttest.RunConformanceTests] checks each rule with a
// test named after it; [dproc/transport/transporttest.RunTreeTests] checks a
// [Tree]. The rules, in short: an unknown host is [ErrUnknownHost] and never
// [ErrLost] (R1); what Ping may return (R2); an error is lost or failed,
// never both (R3); Run has finished with Command.Stdin when the command
// exited by itself (R4); Close waits for the calls in flight and then every
// call fails with [ErrClosed] (R5); [Checksums] falls back to sha256sum and
// then to Get (R6); a Tree behaves like the shell fallback (R7); wrappers
// expose what they wrap with Unwrap (R8); one shape for a non-zero exit
// (R9); "~" means the home directory everywhere (R10); no goroutine outlives
// a closed transport (R11).
//
// # Paths and the home directory
//
// Every host has a home directory. Relative paths given to Put, Get,
// Command.Dir and the optional methods are resolved against it, as ssh and
// scp resolve them against the remote user's home. Absolute paths are used
// as they are. A leading "~" is read as scp and rsync read it: "~" and "~/"
// are the home directory and "~/x" is its entry x, never an entry literally
// named "~"; "~user" (another user's home) is refused with an error matching
// [ErrInvalid]. [HomeRel] does that reading, for transports and helpers
// alike. An entry whose name starts with "~" is reached as "./~name".
//
// # Errors
//
// Transports report what happened; the dispatcher decides what to do about
// it. Every error a transport returns for a host is an [*OpError] naming the
// operation, the host and the path, and wraps one of these:
//
//   - [*ExitError]: the command ran and exited non-zero (or was killed by a
//     signal on the host). errors.Is(err, [ErrFailed]) holds. It is not safe to
//     assume the command had no effect. A command that could not be found
//     reports exit status 127, as every POSIX shell does, and
//     errors.Is(err, [ErrCommandNotFound]) holds. The message is the
//     ExitError's, which names the host once.
//   - [ErrLost]: the command never started or its host went away before it
//     finished (connection refused or dropped, session could not open, no exit
//     status). The work is safe to run again elsewhere. [Lost] builds such an
//     error from its cause; [IsLost] tests for one. No error is both lost
//     and an ExitError.
//   - [ErrUnknownHost]: the transport does not know the host; not lost.
//   - [ErrInvalid]: a malformed request (a Command with neither Args nor
//     Shell, an empty host or path, "~user", a nil Transport given to
//     [Ping], [Remove] or [Checksums]). It is the invalid-argument value
//     shared by every dproc package.
//   - [fs.ErrNotExist]: Get of a file that does not exist, or [Checksums]
//     of one.
//   - [ErrClosed]: the Transport was closed.
//   - context.Canceled or context.DeadlineExceeded: the caller's context ended.
//
// # Optional capabilities and wrappers
//
// A transport that can do something more cheaply than with Run, Put and Get
// implements the matching optional interface, and the helpers use it: [Ping]
// a [Pinger], [Remove] a [Remover], [Checksums] a [Checksummer]; the node
// operations use a [Tree] and a [Locator]. A transport that wraps another
// (to count calls, log, limit or inject faults) exposes the wrapped one with
// an Unwrap() Transport method ([Wrapper]), and the helpers look for each
// capability on the transport and then along its Unwrap chain ([Capability]),
// as net/http's ResponseController finds the optional methods of a wrapped
// ResponseWriter. A wrapper without Unwrap hides the capabilities; the
// helpers then do the same work with Run, Put and Get through the wrapper.
//
// # Why an interface and helpers, not a concrete type over a driver
//
// gocloud's blob.Bucket and database/sql's DB put a concrete type in front
// of a driver interface; the concrete type owns argument checks, the closed
// state, the error shape and the fallbacks for optional driver interfaces,
// so that drivers do not repeat them. This package keeps the small
// interface and the helpers instead, as io/fs keeps FS with fs.ReadFile and
// fs.Stat over it, and net/http keeps ResponseWriter with ResponseController.
// The reasons:
//
//   - Users already hold concrete types: a dispatch.Dispatcher, the node
//     operations and the metrics sampler take a Transport and own the
//     policy (retries, limits, fan-out). A Bucket-like type between them and
//     the transport would be a fourth layer, and would double every method
//     (Transport.Run and Bucket.Run) and every optional one.
//   - The shared work a concrete type would own is small here and is shared
//     already: [Command.Validate] checks a command, [HomeRel] reads paths,
//     [OpError], [ExitError] and [Lost] give one error shape, and the helpers
//     own the fallbacks of the optional interfaces. What remains per
//     transport (when a connection is lost, how to kill a remote command) is
//     exactly what differs between transports.
//   - Wrapping is the common way to extend a transport (fault injection in
//     tests, counting, rate limits). With an interface a wrapper is a struct
//     with four methods; with a concrete type it would have to be a driver
//     wrapped in a second concrete type.
//   - What the concrete type would enforce by construction, the conformance
//     suite enforces by test: validation, the closed state, error shape and
//     every rule above are checked for every transport, including those
//     written outside this module.
//
// The cost is that each transport writes its own closed state and argument
// checks; the suite makes a transport that gets them wrong fail.
//
// # Implementing a Transport
//
// Run [dproc/transport/transporttest.RunConformanceTests] against a new
// implementation, and [dproc/transport/transporttest.RunTreeTests] against
// its Tree if it has one: together they check every rule of the contract.
package transport
