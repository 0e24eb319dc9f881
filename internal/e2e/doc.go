// Package e2e holds end-to-end tests of the whole dproc pipeline (split,
// dispatch, a transport, gather) over real OpenSSH nodes started by
// internal/sshtest. It has no code of its own, only tests.
//
// # What the tests prove
//
// Every test compares the pipeline's output byte for byte with a reference
// computed in Go (and, for the plain runs, with the same pipeline over
// transport/localtransport), and checks from the dispatcher's events that
// every chunk was committed exactly once:
//
//   - the pipeline on three sshd nodes, in stream and in files mode, over
//     text with CRLF line ends, NUL bytes and a last line without newline;
//   - a node killed mid-run (sshd and its sessions), a node frozen with
//     SIGSTOP mid-run (caught by keepalives), and connections cut through a
//     TCP proxy mid-stream: the run finishes, the lost chunks move, and the
//     durations are logged against an undisturbed run on the same data;
//   - cancelling a run leaves no worker process on any node;
//   - a worker that fails on one chunk yields an error naming the chunk, the
//     host, the command, the exit status and the tail of standard error;
//   - the examples/cluster program, built and run over SSH, writes the same
//     result as a local run, and refuses a changed or unknown host key with
//     the key's fingerprint on stderr and no output file.
//
// # Running
//
// The tests need OpenSSH's sshd. Without it they skip, unless the environment
// variable DPROC_REQUIRE_SSHD is "1", in which case they fail:
//
//	DPROC_REQUIRE_SSHD=1 go test -race ./internal/e2e
package e2e
