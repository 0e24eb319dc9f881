package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ioLines returns n numbered lowercase lines.
func ioLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %04d of the input, in lowercase\n", i)
	}
	return b.String()
}

// ioArgs runs on two local nodes under dir, with small blocks so that
// there are many chunks, and no metrics.
func ioArgs(dir string, more ...string) []string {
	return append([]string{"-nodes", "a,b", "-local", "-root", filepath.Join(dir, "nodes"),
		"-block", "256", "-metrics", ""}, more...)
}

func TestStdinToStdout(t *testing.T) {
	data := ioLines(300)
	for _, tc := range []struct{ name, data string }{
		{"lines", data},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			err := runStdin(context.Background(), ioArgs(dir, "-input", "-", "-out", "-"),
				strings.NewReader(tc.data), &stdout, &stderr)
			require.NoError(t, err, stderr.String())
			assert.Equal(t, strings.ToUpper(tc.data), stdout.String(), "only the result, in order, on stdout")
			assert.Contains(t, stderr.String(), "processing standard input (streamed)", "messages on stderr")
		})
	}
}

func TestNonRegularInputsMatchRegular(t *testing.T) {
	data := ioLines(400)
	proc, err := os.ReadFile("/proc/filesystems")
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		data  string
		input func(t *testing.T, dir string) (arg string, stdin *os.File, wait func())
	}{
		{"fifo", data, func(t *testing.T, dir string) (string, *os.File, func()) {
			path := filepath.Join(dir, "fifo")
			require.NoError(t, syscall.Mkfifo(path, 0o600))
			done := make(chan struct{})
			go func() {
				defer close(done)
				w, err := os.OpenFile(path, os.O_WRONLY, 0)
				if assert.NoError(t, err) {
					_, err = w.WriteString(data)
					assert.NoError(t, err)
					assert.NoError(t, w.Close())
				}
			}()
			return path, nil, func() { <-done }
		}},
		{"pipe on stdin", data, func(t *testing.T, dir string) (string, *os.File, func()) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, err := w.WriteString(data)
				assert.NoError(t, err)
				assert.NoError(t, w.Close())
			}()
			return "-", r, func() { <-done }
		}},
		{"regular file on stdin", data, func(t *testing.T, dir string) (string, *os.File, func()) {
			path := filepath.Join(dir, "stdin.txt")
			require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
			f, err := os.Open(path)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return "-", f, func() {}
		}},
		{"/proc file", string(proc), func(t *testing.T, dir string) (string, *os.File, func()) {
			return "/proc/filesystems", nil, func() {}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// The reference: the same bytes from a regular file.
			ref := filepath.Join(dir, "ref.txt")
			require.NoError(t, os.WriteFile(ref, []byte(tc.data), 0o644))
			refOut := filepath.Join(dir, "ref.out")
			var stdout, stderr bytes.Buffer
			require.NoError(t, run(context.Background(), ioArgs(dir, "-input", ref, "-out", refOut), &stdout, &stderr), stderr.String())
			want, err := os.ReadFile(refOut)
			require.NoError(t, err)
			require.Equal(t, strings.ToUpper(tc.data), string(want))

			arg, stdin, wait := tc.input(t, dir)
			out := filepath.Join(dir, "out.txt")
			stdout.Reset()
			stderr.Reset()
			var in io.Reader = strings.NewReader("")
			if stdin != nil {
				in = stdin
			}
			err = runStdin(context.Background(), ioArgs(dir, "-input", arg, "-out", out), in, &stdout, &stderr)
			wait()
			require.NoError(t, err, stderr.String())
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "byte-identical to the run on a regular file")
		})
	}
}

func TestEmptyRegularInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(in, nil, 0o644))
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), ioArgs(dir, "-input", in, "-out", out), &stdout, &stderr), stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestOutputsCheckedBeforeWork(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte(ioLines(10)), 0o644))
	outDir := filepath.Join(dir, "outdir")
	require.NoError(t, os.Mkdir(outDir, 0o755))
	same := filepath.Join(dir, "same.csv")
	require.NoError(t, os.WriteFile(same, nil, 0o644))
	link := filepath.Join(dir, "link.csv")
	require.NoError(t, os.Symlink(same, link))
	rel, err := filepath.Rel(ioGetwd(t), same)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"out is a directory", []string{"-out", outDir}, "is a directory"},
		{"out in a missing directory", []string{"-out", filepath.Join(dir, "missing", "out")}, "does not exist"},
		{"out is metrics", []string{"-out", same, "-metrics", same}, "-out and -metrics name the same file"},
		{"out is metrics, relative", []string{"-out", rel, "-metrics", same}, "-out and -metrics name the same file"},
		{"out is metrics, a link", []string{"-out", link, "-metrics", same}, "-out and -metrics name the same file"},
		{"out is empty", []string{"-out", ""}, "-out must not be empty"},
		{"out is the journal", []string{"-out", filepath.Join(dir, "j"), "-journal", filepath.Join(dir, "j")}, "-out and -journal name the same path"},
		{"out is the journal, default out", []string{"-journal", "final_result.txt"}, "-out and -journal name the same path"},
		{"out is the input", []string{"-out", in}, "-out names the input file"},
		{"journal is metrics", []string{"-out", filepath.Join(dir, "o.txt"), "-journal", same, "-metrics", same}, "-journal and -metrics name the same path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "nodes")
			var stdout, stderr bytes.Buffer
			args := append([]string{"-input", in, "-nodes", "a,b", "-local", "-root", root, "-metrics", ""}, tc.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
			assert.NoDirExists(t, root, "no node was set up")
			entries, err := os.ReadDir(outDir)
			require.NoError(t, err)
			assert.Empty(t, entries)
			assert.NotContains(t, stdout.String(), "processing")
		})
	}
}

func ioGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}

func TestEarlyReturnLeavesNoTempFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(dir string) []string
	}{
		{"bad local node", func(dir string) []string {
			return []string{"-nodes", "alice@node1", "-local", "-root", filepath.Join(dir, "nodes"), "-metrics", ""}
		}},
		{"bad metrics path", func(dir string) []string {
			return []string{"-nodes", "a", "-local", "-root", filepath.Join(dir, "nodes"),
				"-metrics", filepath.Join(dir, "missing", "m.csv")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.txt")
			require.NoError(t, os.WriteFile(in, []byte(ioLines(10)), 0o644))
			outDir := filepath.Join(dir, "out")
			require.NoError(t, os.Mkdir(outDir, 0o755))
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append(tc.args(dir), "-input", in, "-out", filepath.Join(outDir, "result.txt")), &stdout, &stderr)
			require.Error(t, err)
			entries, err := os.ReadDir(outDir)
			require.NoError(t, err)
			assert.Empty(t, entries, "no result and no temp file left")
		})
	}
}

// killedRunEnv makes TestKilledRunHelper run the program with the
// arguments in the variable, one per line, as a child process would.
const killedRunEnv = "DPROC_CLUSTER_KILLED_RUN_ARGS"

// TestKilledRunHelper is the child process of
// TestNextRunRemovesKilledRunsTemp; run directly it does nothing.
func TestKilledRunHelper(t *testing.T) {
	args := os.Getenv(killedRunEnv)
	if args == "" {
		return
	}
	err := run(context.Background(), strings.Split(args, "\n"), io.Discard, io.Discard)
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func TestNextRunRemovesKilledRunsTemp(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, []byte(ioLines(50)), 0o644))
	outDir := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(outDir, 0o755))
	out := filepath.Join(outDir, "result.txt")

	// A run whose worker takes a while, killed with SIGKILL mid-run: it
	// cannot clean up, so its temp file stays.
	args := []string{"-input", in, "-out", out, "-worker", "sleep 3; cat", "-metrics", "",
		"-nodes", "a", "-local", "-root", filepath.Join(dir, "nodes")}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRunHelper$")
	cmd.Env = append(os.Environ(), killedRunEnv+"="+strings.Join(args, "\n"))
	require.NoError(t, cmd.Start())
	var temps []os.DirEntry
	for deadline := time.Now().Add(20 * time.Second); len(temps) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		var err error
		temps, err = os.ReadDir(outDir)
		require.NoError(t, err)
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Len(t, temps, 1, "the killed run's temp file")
	assert.Contains(t, temps[0].Name(), ".result.txt.tmp-"+strconv.Itoa(cmd.Process.Pid)+"-")

	// The next run removes it, and leaves only its result.
	var stdout, stderr bytes.Buffer
	args[5] = "cat"
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	entries, err := os.ReadDir(outDir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "result.txt", entries[0].Name())
}
