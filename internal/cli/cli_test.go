package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helperEnv selects the helper program TestMain runs instead of the tests
// when the test binary is executed again by a test.
const helperEnv = "DPROC_CLI_TEST_HELPER"

// helpers are the programs the tests run through Main, in a child process.
var helpers = map[string]RunStdinFunc{
	// wait cancels like a real program: it returns the context's error,
	// wrapped.
	"wait": func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("helper", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Bool("x", false, "a flag")
		if err := Parse(fs, args); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "ready")
		<-ctx.Done()
		return fmt.Errorf("dispatch: chunk 3: %w", ctx.Err())
	},
	// nil returns nil after the cancel, as a program that swallows it.
	"nil": func(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "ready")
		<-ctx.Done()
		return nil
	},
	// stuck ignores the cancel: only a second signal ends it.
	"stuck": func(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "ready")
		<-ctx.Done()
		time.Sleep(time.Hour)
		return nil
	},
	"fail": func(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
		return errors.New("boom")
	},
	"cat": func(_ context.Context, _ []string, stdin io.Reader, stdout, _ io.Writer) error {
		_, err := io.Copy(stdout, stdin)
		return err
	},
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		if name == "plain" {
			Main("helper", func(_ context.Context, args []string, stdout, _ io.Writer) error {
				fmt.Fprintln(stdout, "args:", strings.Join(args, " "))
				return nil
			})
		}
		MainStdin("helper", helpers[name])
	}
	os.Exit(m.Run())
}

// child starts the test binary as helper name.
func child(t *testing.T, name string, stdin string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, bufio.NewReader(out), &stderr
}

// wait waits for cmd to exit and returns its exit status; a child that
// does not exit within 30 s is killed (status -1).
func wait(t *testing.T, cmd *exec.Cmd, stdout *bufio.Reader) int {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	io.Copy(io.Discard, stdout)
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

func TestSignals(t *testing.T) {
	for _, tc := range []struct {
		helper string
		sigs   []syscall.Signal
		status int
	}{
		{"wait", []syscall.Signal{syscall.SIGINT}, 130},
		{"wait", []syscall.Signal{syscall.SIGTERM}, 143},
		{"nil", []syscall.Signal{syscall.SIGINT}, 130},
		{"stuck", []syscall.Signal{syscall.SIGTERM, syscall.SIGINT}, 143},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.helper, tc.sigs), func(t *testing.T) {
			cmd, stdout, stderr := child(t, tc.helper, "")
			line, err := stdout.ReadString('\n')
			require.NoError(t, err) // stderr is read only after Wait
			require.Equal(t, "ready\n", line)
			for _, s := range tc.sigs {
				require.NoError(t, cmd.Process.Signal(s))
				time.Sleep(20 * time.Millisecond)
			}
			assert.Equal(t, tc.status, wait(t, cmd, stdout))
			assert.Equal(t, "helper: interrupted\n", stderr.String())
		})
	}
}

func TestExitStatusAndMessages(t *testing.T) {
	for _, tc := range []struct {
		name, helper string
		args         []string
		stdin        string
		status       int
		stdout       string
		check        func(t *testing.T, stderr string)
	}{
		{"help", "wait", []string{"-h"}, "", 0, "", func(t *testing.T, stderr string) {
			assert.Equal(t, "Usage of helper:\n  -x\ta flag\n", stderr, "the usage, and no error")
		}},
		{"unknown flag", "wait", []string{"-bogus"}, "", 2, "", func(t *testing.T, stderr string) {
			assert.Equal(t, 1, strings.Count(stderr, "flag provided but not defined: -bogus"), stderr)
			assert.Contains(t, stderr, "Usage")
		}},
		{"bad value", "wait", []string{"-x=maybe"}, "", 2, "", func(t *testing.T, stderr string) {
			assert.Equal(t, 1, strings.Count(stderr, "invalid boolean value"), stderr)
		}},
		{"failure", "fail", nil, "", 1, "", func(t *testing.T, stderr string) {
			assert.Equal(t, "helper: boom\n", stderr)
		}},
		{"stdin", "cat", nil, "some input\n", 0, "some input\n", func(t *testing.T, stderr string) {
			assert.Empty(t, stderr)
		}},
		{"Main", "plain", []string{"a", "b"}, "", 0, "args: a b\n", func(t *testing.T, stderr string) {
			assert.Empty(t, stderr)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stdout, stderr := child(t, tc.helper, tc.stdin, tc.args...)
			out, err := io.ReadAll(stdout)
			require.NoError(t, err)
			assert.Equal(t, tc.status, wait(t, cmd, stdout))
			assert.Equal(t, tc.stdout, string(out))
			tc.check(t, stderr.String())
		})
	}
}

func TestParse(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "")
	require.NoError(t, Parse(fs, []string{"-n", "3"}))
	assert.Equal(t, 3, *n)
	assert.Equal(t, flag.ErrHelp, Parse(fs, []string{"-h"}))
	err := Parse(fs, []string{"-n", "x"})
	assert.ErrorIs(t, err, ErrUsage)
	assert.Contains(t, err.Error(), "invalid value")
	assert.Equal(t, 2, exitStatus(err))
	assert.Equal(t, 1, exitStatus(fmt.Errorf("wrapped: %w", context.Canceled)))
	assert.Equal(t, 0, exitStatus(fmt.Errorf("wrapped: %w", flag.ErrHelp)))
}
