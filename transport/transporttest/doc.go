// Package transporttest is the conformance suite every
// [dproc/transport.Transport] must pass, in the style of the Go CDK's
// drivertest: a transport's own test file supplies a [Harness] and calls
// [RunConformanceTests].
//
//	func TestConformance(t *testing.T) {
//		transporttest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (transporttest.Harness, error) {
//			return newMyHarness(t)
//		})
//	}
//
// The suite checks every "must" of the Transport contract: exit statuses and
// [*transport.ExitError], missing programs, streaming tens of MiB through
// standard input, output and error without deadlock, argument vectors with
// hostile strings, Dir and Env, Put and Get round trips, file modes, atomic
// replacement, failed uploads, missing files, relative paths, cancellation and
// deadlines, concurrent use, Close, invalid commands and host isolation.
//
// Each rule of the contract (see [dproc/transport.Transport]) has a subtest
// of its own, named after it:
//
//	R1UnknownHost   every method, optional ones and the helpers' fallbacks
//	                included, refuses an unknown host with ErrUnknownHost,
//	                never ErrLost
//	R2Pinger        Ping: nil for a host that answers; ErrLost for a lost
//	                host (see [LostHoster]); not lost for an unknown host,
//	                a closed transport, a cancelled context; never an
//	                ExitError; through the Pinger and the fallback
//	R3LostOrFailed  errors.Is(err, ErrLost) == IsLost(err) for errors of
//	                every kind the suite can provoke
//	R4Stdin         Run has finished with an endless Stdin when the command
//	                exits by itself (true, exit 3, head -c 10)
//	R5Close         use after Close, a running command stopped, Close waits
//	                for a call in flight, Close called again
//	R6Checksums     transport.Checksums through the Checksummer, through
//	                sha256sum on the host and through Get, a missing file
//	                matching fs.ErrNotExist in each
//	R7Tree          the checks of [RunTreeTests] on the transport's own
//	                Tree, when it has one
//	R8Wrappers      capabilities found through Unwrap, hidden without it,
//	                and the helpers' fallbacks through a hiding wrapper
//	R9ExitStatus    a non-zero exit is an *OpError "run" wrapping the
//	                *ExitError, naming the host once
//	R10Paths        "~" and "~/x" in Put, Get, Dir and the optional
//	                methods; "~user" is ErrInvalid
//	R11Leaks        no goroutine left once a used transport is closed
//	R12Unread       Command.Unread counts the stdin a command left unread,
//	                pipe and connection buffers included; the same
//	                with Command.InputSize set
//
// [RunTreeTests] checks a [transport.Tree] on its own, the transport's
// own or one written over Run (a shell fallback), with a [TreeHarness].
// [Hide] and [Unwrapping] wrap a transport the two ways rule R8 tells
// apart, for tests of code that looks for optional interfaces.
//
// # Harness
//
// [RunConformanceTests] calls the [HarnessMaker] once and shares the harness
// between its subtests, which run one after another. Each subtest gets a new
// Transport from [Harness.MakeTransport] and closes it when it ends; each
// writes only under a directory named after itself, relative to the host's
// home, so the homes need not be emptied between subtests. The harness is
// closed when the suite ends.
//
// The hosts returned by [Harness.Hosts] must be isolated from each other: a
// file written with a relative path on one host must not be visible on
// another (different home directories are enough).
//
// # Vocabulary
//
// The suite runs only the programs and shell lines below on hosts, so that a
// transport without a real operating system behind it (an in-memory fake) can
// implement them as Go functions. This list is a contract: the suite will not
// use anything else without the list being changed here first. Outputs are
// those of GNU coreutils and a POSIX sh; the suite compares them exactly.
//
// Programs, run as [transport.Command.Args] (ARG stands for any argument; the
// suite always passes at least one where ARGS is shown):
//
//	true                  exit 0
//	false                 exit 1
//	cat                   copy standard input to standard output
//	cat FILE...           write the named files (relative to the working directory) to standard output
//	echo ARGS...          the arguments joined by single spaces, then "\n"
//	printf '%s\0' ARGS... each argument followed by a NUL byte; the format is the
//	                      4-byte string `%s\0` (backslash and zero, not a NUL), the
//	                      only format the suite uses
//	sleep SECONDS         wait SECONDS (a whole number) seconds, or until killed
//	pwd                   the absolute working directory, then "\n"
//	printenv NAME         the value of the variable NAME, then "\n" (NAME is always set)
//	head -c N             the first N bytes of standard input, then exit 0
//	                      without reading the rest
//	stat -c %a PATH       the permission bits of PATH in octal without leading
//	                      zeros, then "\n" (for example "644\n")
//	sha256sum -- FILE...  for each file it can read, in order, its digest, two
//	                      spaces and its name, with GNU's escaping (a name
//	                      holding '\', a newline or a carriage return is
//	                      written with "\\", "\n", "\r" and the line starts
//	                      with '\'); a message on standard error for each file
//	                      it cannot read, and then exit status 1
//	rm -f -- FILE         remove FILE; exit 0 when it does not exist
//	dproc-no-such-command a program that does not exist: exit status 127 and a
//	                      message on standard error that names it
//
// Shell lines, run as [transport.Command.Shell], exactly these strings (see
// the constants and [ShellLines]):
//
//	exit 3                      [ShellExit3]
//	echo oops >&2; exit 5       [ShellOopsExit5]
//	cat >&2                     [ShellCatToStderr]
//	cat; echo done >&2          [ShellCatThenDone]
//	cat >&2; exit 7             [ShellCatToStderrExit7]
//
// Every command may be given a Dir and Env ("~" and "~/x" included, rule
// R10), and every command must see the host's home as its working directory
// when Dir is empty. Printenv must see the variables from Env.
//
// A harness may also implement [LostHoster] to name a host that cannot be
// reached, and [RefusedHoster] to name hosts that refuse the transport (a
// wrong host key, a failed login); the lost cases of R2 and R3, and the
// refusals of R2, are checked only then. For R11 the
// goroutines of the harness itself must exist before the suite starts (a
// Transport made by MakeTransport must not start goroutines that outlive
// its Close).
//
// # Time
//
// No subtest asserts how fast anything is. Subtests that cancel a command
// only require it to return within [ReturnBound], and every subtest runs
// under a context that ends after [SubtestTimeout] so that a hanging
// transport fails instead of blocking the test binary. Two subtests wait on
// purpose: R4Stdin waits 100ms after Run returned for a late Read of
// standard input to show, and R5Close/WaitsForCalls holds a Write of
// standard output for up to a second, which a Close that waits for its
// calls sits through and one that does not returns during.
package transporttest
