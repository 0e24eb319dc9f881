package transporttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"dproc/transport"
)

// Harness gives the suite transports to test and the hosts they reach.
type Harness interface {
	// MakeTransport returns a new Transport that reaches every host in
	// Hosts. The suite closes it.
	MakeTransport(ctx context.Context) (transport.Transport, error)

	// Hosts returns at least two distinct hosts, each with a writable
	// home directory of its own.
	Hosts() []string

	// UnknownHost returns a host name the transport does not know, which
	// it must refuse with an error matching [transport.ErrUnknownHost] and
	// not [transport.ErrLost] (rule R1).
	UnknownHost() string

	// Close releases what the harness holds. The suite calls it once,
	// after its last subtest.
	Close()
}

// HarnessMaker makes the [Harness] for one run of [RunConformanceTests].
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// The shell lines of the suite's vocabulary (see the package doc). A
// transport that does not run a real shell can recognise these exact strings.
const (
	ShellExit3            = "exit 3"
	ShellOopsExit5        = "echo oops >&2; exit 5"
	ShellCatToStderr      = "cat >&2"
	ShellCatThenDone      = "cat; echo done >&2"
	ShellCatToStderrExit7 = "cat >&2; exit 7"
)

// MissingProgram is the program name the suite runs to check that a missing
// program is reported with exit status 127.
const MissingProgram = "dproc-no-such-command"

// ShellLines returns every shell line the suite runs, in a new slice.
func ShellLines() []string {
	return []string{ShellExit3, ShellOopsExit5, ShellCatToStderr, ShellCatThenDone, ShellCatToStderrExit7}
}

const (
	// ReturnBound is how long a call may take to return after its
	// context ends or its Transport is closed.
	ReturnBound = 10 * time.Second

	// SubtestTimeout bounds the context of every subtest.
	SubtestTimeout = 2 * time.Minute
)

// RunConformanceTests runs the conformance suite against the transports made
// by the harness from newHarness. See the package doc for what it checks and
// what it runs on hosts.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	h, err := newHarness(context.Background(), t)
	require.NoError(t, err, "making the harness")
	t.Cleanup(h.Close)
	hosts := h.Hosts()
	require.GreaterOrEqual(t, len(hosts), 2, "Harness.Hosts must return at least two hosts")
	require.NotEqual(t, hosts[0], hosts[1], "Harness.Hosts must return distinct hosts")

	s := &suite{h: h, hosts: hosts}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Run/ExitStatus", testExitStatus},
		{"Run/CommandNotFound", testCommandNotFound},
		{"Run/Output", testOutput},
		{"Run/StdoutStderrSeparate", testStdoutStderrSeparate},
		{"Run/NilStdin", testNilStdin},
		{"Run/StdinNotFullyRead", testStdinNotFullyRead},
		{"Run/LargeStdinStdout", testLargeStdinStdout},
		{"Run/LargeStdoutDiscarded", testLargeStdoutDiscarded},
		{"Run/LargeStderr", testLargeStderr},
		{"Run/StderrTailKeepsEnd", testStderrTail},
		{"Run/HostileArgs", testHostileArgs},
		{"Run/Dir", testDir},
		{"Run/Env", testEnv},
		{"Run/Invalid", testInvalidCommand},
		{"Run/Cancel", testRunCancel},
		{"Run/CancelSleep", testRunCancelSleep},
		{"Run/Deadline", testRunDeadline},
		{"Run/ContextAlreadyDone", testContextAlreadyDone},
		{"Files/RoundTrip", testRoundTrip},
		{"Files/Modes", testModes},
		{"Files/ParentDirs", testParentDirs},
		{"Files/RelativeAndAbsolute", testRelativeAndAbsolute},
		{"Files/HostileNames", testHostileNames},
		{"Files/GetMissing", testGetMissing},
		{"Files/PutAtomic", testPutAtomic},
		{"Files/PutReaderError", testPutReaderError},
		{"Files/PutCancel", testPutCancel},
		{"Hosts/Isolated", testIsolated},
		{"Concurrent", testConcurrent},
		{"Optional/Remover", testRemover},
		{"R1UnknownHost", testR1UnknownHost},
		{"R2Pinger", testR2Pinger},
		{"R3LostOrFailed", testR3LostOrFailed},
		{"R4Stdin", testR4Stdin},
		{"R5Close", testR5Close},
		{"R6Checksums", testR6Checksums},
		{"R7Tree", testR7Tree},
		{"R8Wrappers", testR8Wrappers},
		{"R9ExitStatus", testR9ExitStatus},
		{"R10Paths", testR10Paths},
		{"R11Leaks", testR11Leaks},
		{"R12Unread", testR12Unread},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, s.newEnv(t, tc.name))
		})
	}
}

type suite struct {
	h     Harness
	hosts []string
}
