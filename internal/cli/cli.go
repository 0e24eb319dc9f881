// Package cli holds what every example program's main does the same way:
// run the program with a context that SIGINT and SIGTERM cancel, print its
// error once, and exit with the status shells expect.
//
// Exit status:
//
//   - 0 on success, and for -h or -help (the usage text was asked for).
//   - 1 when the program fails; Main prints "NAME: error" on standard
//     error.
//   - 2 for a bad command line reported by [Parse]: the flag package has
//     already printed the error and the usage, so Main prints nothing more.
//   - 128+N after signal N, 130 for SIGINT and 143 for SIGTERM: the first
//     signal cancels the context, the program cleans up and returns, and
//     Main prints "NAME: interrupted" (and not the program's error, which
//     is only the cancellation seen from inside), even when the program
//     returned nil. A second signal exits at once with the same status,
//     without waiting for the cleanup.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// RunFunc is an example program: it parses args, does its work and returns
// an error to report. It writes only to stdout and stderr, so tests can call
// it directly.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// RunStdinFunc is a [RunFunc] that also reads standard input, given as
// stdin so that tests can supply their own.
type RunStdinFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

// ErrUsage is wrapped by the error [Parse] returns for a bad command line.
var ErrUsage = errors.New("usage error")

// usageError is a flag error the flag package has already printed.
type usageError struct{ err error }

func (e *usageError) Error() string   { return e.err.Error() }
func (e *usageError) Unwrap() []error { return []error{e.err, ErrUsage} }

// Parse parses args with fs, a FlagSet made with flag.ContinueOnError
// whose output is the program's standard error. It returns flag.ErrHelp
// as fs.Parse does for -h, and for any other parse error (an unknown
// flag, a bad value) an error wrapping both that error and [ErrUsage].
// The flag package has printed that error and the usage already, so Main
// does not print it again.
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{err}
}

// Main runs run with the command-line arguments and a context cancelled by
// SIGINT or SIGTERM, then exits; see the package documentation for what it
// prints and the exit status.
func Main(name string, run RunFunc) {
	MainStdin(name, func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		return run(ctx, args, stdout, stderr)
	})
}

// MainStdin is [Main] for a program that reads standard input.
func MainStdin(name string, run RunStdinFunc) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	interrupted := func(sig os.Signal) {
		once.Do(func() {
			fmt.Fprintf(os.Stderr, "%s: interrupted\n", name)
			os.Exit(signalStatus(sig))
		})
	}
	first := make(chan os.Signal, 1)
	go func() {
		sig := <-sigs
		first <- sig // before cancel, so that run's return sees it
		cancel()
		<-sigs
		interrupted(sig)
	}()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	select {
	case sig := <-first:
		interrupted(sig)
	default:
	}
	code := exitStatus(err)
	if code == 1 {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	os.Exit(code)
}

// exitStatus is the status for run's error when no signal came.
func exitStatus(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	return 1
}

// signalStatus is the shell's status for a process ended by sig: 128+N.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
