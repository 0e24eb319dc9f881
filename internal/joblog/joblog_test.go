package joblog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Unix(1796170381, 223_000_000)

func TestAppendLine(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{
			"plain",
			Entry{Seq: 1, Host: ":", Start: t0, Runtime: 5 * time.Millisecond, Receive: 2, Command: "echo a"},
			"1\t:\t1796170381.223\t     0.005\t0\t2\t0\t0\techo a\n",
		},
		{
			"all fields",
			Entry{Seq: 12, Host: "alice@hostA:2222", Start: t0, Runtime: 1234567 * time.Millisecond, Send: 1048576, Receive: 99, Exitval: 44, Signal: 0, Command: "exit 300"},
			"12\talice@hostA:2222\t1796170381.223\t  1234.567\t1048576\t99\t44\t0\texit 300\n",
		},
		{
			"killed",
			Entry{Seq: 3, Host: "n1", Start: t0, Runtime: 1223 * time.Millisecond, Exitval: -1, Signal: 15, Command: "sleep 5"},
			"3\tn1\t1796170381.223\t     1.223\t0\t0\t-1\t15\tsleep 5\n",
		},
		{
			"rounds to the millisecond",
			Entry{Seq: 1, Host: "n1", Start: t0.Add(499_999 * time.Nanosecond), Runtime: 1500 * time.Microsecond, Command: "x"},
			"1\tn1\t1796170381.223\t     0.002\t0\t0\t0\t0\tx\n",
		},
		{
			"rounds up across a second",
			Entry{Seq: 1, Host: "n1", Start: t0.Add(776_600 * time.Microsecond), Runtime: 999_500 * time.Microsecond, Command: "x"},
			"1\tn1\t1796170382.000\t     1.000\t0\t0\t0\t0\tx\n",
		},
		{
			"runtime wider than 10 columns is not cut",
			Entry{Seq: 1, Host: "n1", Start: t0, Runtime: 12345678901 * time.Millisecond, Command: "x"},
			"1\tn1\t1796170381.223\t12345678.901\t0\t0\t0\t0\tx\n",
		},
		{
			"tab stays, newline becomes NUL",
			Entry{Seq: 6, Host: "n1", Start: t0, Command: "printf \"a\tb\"; echo \"x\ny\""},
			"6\tn1\t1796170381.223\t     0.000\t0\t0\t0\t0\tprintf \"a\tb\"; echo \"x\x00y\"\n",
		},
		{
			"empty command",
			Entry{Seq: 1, Host: "n1", Start: t0},
			"1\tn1\t1796170381.223\t     0.000\t0\t0\t0\t0\t\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(tt.e.AppendLine(nil)))
			back, err := Read(strings.NewReader(tt.want))
			require.NoError(t, err)
			require.Len(t, back, 1)
			assert.Equal(t, tt.want, string(back[0].AppendLine(nil)), "read back and written again")
		})
	}
}

func TestFailed(t *testing.T) {
	tests := []struct {
		exitval, signal int
		want            bool
	}{{0, 0, false}, {1, 0, true}, {44, 0, true}, {-1, 15, true}, {0, 15, true}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.exitval, tt.signal), func(t *testing.T) {
			assert.Equal(t, tt.want, Entry{Exitval: tt.exitval, Signal: tt.signal}.Failed())
		})
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter(&b)
	require.NoError(t, err)
	require.NoError(t, w.Write(Entry{Seq: 2, Host: "n2", Start: t0, Command: "b"}))
	require.NoError(t, w.Write(Entry{Seq: 1, Host: "n1", Start: t0, Exitval: 1, Command: "a"}))
	assert.Equal(t, Header+
		"2\tn2\t1796170381.223\t     0.000\t0\t0\t0\t0\tb\n"+
		"1\tn1\t1796170381.223\t     0.000\t0\t0\t1\t0\ta\n", b.String())

	b.Reset()
	aw := NewAppendWriter(&b)
	require.NoError(t, aw.Write(Entry{Seq: 3, Host: "n1", Start: t0, Command: "c"}))
	assert.Equal(t, "3\tn1\t1796170381.223\t     0.000\t0\t0\t0\t0\tc\n", b.String(), "no header when appending")
}

// failAfter fails every write after the first n.
type failAfter struct {
	n     int
	calls int
	err   error
}

func (f *failAfter) Write(b []byte) (int, error) {
	f.calls++
	if f.calls > f.n {
		return 0, f.err
	}
	return len(b), nil
}

func TestWriterErrors(t *testing.T) {
	boom := errors.New("disk full")
	_, err := NewWriter(&failAfter{n: 0, err: boom})
	assert.ErrorIs(t, err, boom)
	assert.EqualError(t, err, "joblog: header: disk full")

	dst := &failAfter{n: 2, err: boom}
	w, err := NewWriter(dst)
	require.NoError(t, err)
	require.NoError(t, w.Write(Entry{Seq: 1}))
	err = w.Write(Entry{Seq: 2})
	assert.EqualError(t, err, "joblog: seq 2: disk full")
	assert.ErrorIs(t, w.Write(Entry{Seq: 3}), boom, "sticky")
	assert.Equal(t, 3, dst.calls, "nothing written after the failure")
}

func TestWriterConcurrent(t *testing.T) {
	var b bytes.Buffer
	w, err := NewWriter(&b)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 1; i <= 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, w.Write(Entry{Seq: int64(i), Host: "n" + strconv.Itoa(i%7), Start: t0, Command: strings.Repeat("x", i)}))
		}()
	}
	wg.Wait()
	got, err := Read(&b)
	require.NoError(t, err)
	require.Len(t, got, 200)
	for _, e := range got {
		assert.Equal(t, strings.Repeat("x", int(e.Seq)), e.Command)
		assert.Equal(t, "n"+strconv.Itoa(int(e.Seq)%7), e.Host)
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		log  string
		want []Entry
	}{
		{"empty", "", nil},
		{"header only", Header, nil},
		{
			"no header",
			"1\tn1\t1796170381.223\t     0.005\t0\t2\t0\t0\techo a\n",
			[]Entry{{Seq: 1, Host: "n1", Start: t0, Runtime: 5 * time.Millisecond, Receive: 2, Command: "echo a"}},
		},
		{
			"old Runtime header",
			"Seq\tHost\tStarttime\tRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1796170381.223\t0.5\t0\t0\t0\t0\tx\n",
			[]Entry{{Seq: 1, Host: ":", Start: t0, Runtime: 500 * time.Millisecond, Command: "x"}},
		},
		{
			"tabs in the command, NUL is a newline",
			Header + "5\t:\t1796170381.223\t     0.014\t0\t4\t0\t0\techo \"a\tb\"\x00c\n",
			[]Entry{{Seq: 5, Host: ":", Start: t0, Runtime: 14 * time.Millisecond, Receive: 4, Command: "echo \"a\tb\"\nc"}},
		},
		{
			"killed, blank lines skipped",
			Header + "\n3\t:\t1796170381.223\t     1.223\t0\t0\t-1\t15\tsleep 5\n\n",
			[]Entry{{Seq: 3, Host: ":", Start: t0, Runtime: 1223 * time.Millisecond, Exitval: -1, Signal: 15, Command: "sleep 5"}},
		},
		{
			"a last line with no newline is dropped",
			Header + "1\t:\t1796170381.223\t     0.000\t0\t0\t0\t0\ta\n2\t:\t1796170381.2",
			[]Entry{{Seq: 1, Host: ":", Start: t0, Command: "a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.log))
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i := range got {
				assert.True(t, tt.want[i].Start.Equal(got[i].Start), "start %v, want %v", got[i].Start, tt.want[i].Start)
				got[i].Start = tt.want[i].Start
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadErrors(t *testing.T) {
	ok := "1\tn1\t1796170381.223\t     0.005\t0\t2\t0\t0\techo a\n"
	tests := []struct{ log, want string }{
		{Header + ok + "2\tn1\t0\n", "joblog: line 3: 3 fields, want 9 separated by tabs"},
		{"x\tn1\t1.0\t0.0\t0\t0\t0\t0\tc\n", `joblog: line 1: Seq: "x" is not a whole number`},
		{"1\tn1\tnow\t0.0\t0\t0\t0\t0\tc\n", `joblog: line 1: Starttime: "now" is not seconds`},
		{"1\tn1\t1.0\t0.0001\t0\t0\t0\t0\tc\n", `joblog: line 1: JobRuntime: "0.0001" is not seconds`},
		{"1\tn1\t1.0\t.5\t0\t0\t0\t0\tc\n", `joblog: line 1: JobRuntime: ".5" is not seconds`},
		{"1\tn1\t1.0\t0.5\tlots\t0\t0\t0\tc\n", `joblog: line 1: Send: "lots" is not a whole number`},
		{"1\tn1\t1.0\t0.5\t0\t1e3\t0\t0\tc\n", `joblog: line 1: Receive: "1e3" is not a whole number`},
		{"1\tn1\t1.0\t0.5\t0\t0\tok\t0\tc\n", `joblog: line 1: Exitval: "ok" is not a whole number`},
		{"1\tn1\t1.0\t0.5\t0\t0\t0\tTERM\tc\n", `joblog: line 1: Signal: "TERM" is not a whole number`},
		{ok + Header, `joblog: line 2: Seq: "Seq" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.log))
			assert.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, ErrFormat)
			var pe *ParseError
			assert.ErrorAs(t, err, &pe)
		})
	}
}

func TestSeqs(t *testing.T) {
	entries := []Entry{
		{Seq: 3, Exitval: 1},
		{Seq: 1},
		{Seq: 2, Signal: 9},
		{Seq: 5, Exitval: -1, Signal: 15},
		{Seq: 3}, // rerun, now fine
		{Seq: 4},
		{Seq: 4, Exitval: 2}, // rerun, now failed
	}
	logged, failed := Seqs(entries)
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, logged)
	assert.Equal(t, []int64{2, 4, 5}, failed)

	logged, failed = Seqs(nil)
	assert.Empty(t, logged)
	assert.Empty(t, failed)
}

func TestExitStatus(t *testing.T) {
	tests := []struct{ failed, want int }{
		{-1, 0}, {0, 0}, {1, 1}, {3, 3}, {44, 44}, {100, 100}, {101, 101}, {102, 101}, {300, 101},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.failed), func(t *testing.T) {
			assert.Equal(t, tt.want, ExitStatus(tt.failed))
		})
	}
}

// parallelTool returns the path of GNU parallel, skipping the test when
// it is missing unless DPROC_REQUIRE_SSHD=1 (CI), where that fails it.
func parallelTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("parallel")
	if err != nil {
		if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
			t.Fatalf("GNU parallel not found and DPROC_REQUIRE_SSHD=1: %v", err)
		}
		t.Skipf("GNU parallel not found (set DPROC_REQUIRE_SSHD=1 to fail instead): %v", err)
	}
	// moreutils has a parallel of its own, with another command line.
	out, err := exec.Command(path, "--version").Output()
	require.NoError(t, err, "%s --version", path)
	require.Contains(t, string(out), "GNU parallel", "%s is not GNU parallel", path)
	return path
}

// exitCode runs cmd and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// TestExitStatusGNUParallel checks ExitStatus against GNU parallel's exit
// status with --halt never.
func TestExitStatusGNUParallel(t *testing.T) {
	parallel := parallelTool(t)
	for _, failed := range []int{0, 3, 100, 101} {
		t.Run(strconv.Itoa(failed), func(t *testing.T) {
			var input strings.Builder
			for i := 0; i < failed; i++ {
				input.WriteString("false\n")
			}
			input.WriteString("true\n")
			cmd := exec.Command(parallel, "--halt", "never", "-j", "64")
			cmd.Stdin = strings.NewReader(input.String())
			assert.Equal(t, ExitStatus(failed), exitCode(t, cmd))
		})
	}
}

// TestGNUParallelJoblog runs GNU parallel with --joblog and checks the
// format field by field, then that Read and Writer give its bytes back.
func TestGNUParallelJoblog(t *testing.T) {
	parallel := parallelTool(t)
	path := filepath.Join(t.TempDir(), "joblog")
	jobs := []string{
		"printf abc",
		"exit 3",
		"exit 300",
		"kill -TERM $$",
		"printf \"a\tb\"",
		"echo \"x\ny\"",
		"sleep 5", // killed by --timeout
	}
	cmd := exec.Command(parallel, "-0", "-j", "8", "--timeout", "0.3", "--joblog", path)
	cmd.Stdin = strings.NewReader(strings.Join(jobs, "\x00") + "\x00")
	rc := exitCode(t, cmd)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	log := string(raw)

	t.Run("header", func(t *testing.T) {
		first, _, _ := strings.Cut(log, "\n")
		assert.Equal(t, Header, first+"\n")
	})
	t.Run("fields", func(t *testing.T) {
		formats := []*regexp.Regexp{
			regexp.MustCompile(`^[1-9][0-9]*$`),         // Seq
			regexp.MustCompile(`^:$`),                   // Host, local
			regexp.MustCompile(`^[0-9]{10}\.[0-9]{3}$`), // Starttime
			regexp.MustCompile(`^ *[0-9]+\.[0-9]{3}$`),  // JobRuntime, %10.3f
			regexp.MustCompile(`^0$`),                   // Send
			regexp.MustCompile(`^[0-9]+$`),              // Receive
			regexp.MustCompile(`^(-1|[0-9]{1,3})$`),     // Exitval
			regexp.MustCompile(`^[0-9]{1,2}$`),          // Signal
			regexp.MustCompile(`^[^\n]*$`),              // Command
		}
		lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")[1:]
		require.Len(t, lines, len(jobs))
		for _, l := range lines {
			f := strings.SplitN(l, "\t", 9)
			require.Len(t, f, 9, l)
			for i, re := range formats {
				assert.Regexp(t, re, f[i], "%s in %q", columns[i], l)
			}
			assert.Len(t, f[3], 10, "JobRuntime is 10 wide: %q", f[3])
			e := Entry{Start: time.Unix(1796170381, 0)}
			ours := strings.SplitN(string(e.AppendLine(nil)), "\t", 9)
			assert.Len(t, ours[3], 10)
			assert.Regexp(t, formats[2], ours[2])
		}
	})
	t.Run("values", func(t *testing.T) {
		entries, err := Read(strings.NewReader(log))
		require.NoError(t, err)
		bySeq := map[int64]Entry{}
		for _, e := range entries {
			bySeq[e.Seq] = e
		}
		require.Len(t, bySeq, len(jobs))
		for i, job := range jobs {
			assert.Equal(t, job, bySeq[int64(i+1)].Command, "the newline came back from NUL")
		}
		assert.Equal(t, int64(3), bySeq[1].Receive, "stdout bytes")
		assert.Equal(t, 3, bySeq[2].Exitval)
		assert.Equal(t, 44, bySeq[3].Exitval, "exit code mod 256")
		assert.Equal(t, [2]int{0, 15}, [2]int{bySeq[4].Exitval, bySeq[4].Signal})
		assert.Equal(t, [2]int{-1, 15}, [2]int{bySeq[7].Exitval, bySeq[7].Signal}, "killed by the timeout")
		_, failed := Seqs(entries)
		assert.Equal(t, []int64{2, 3, 4, 7}, failed)
		assert.Equal(t, ExitStatus(len(failed)), rc, "GNU parallel's exit status")
	})
	t.Run("read and written again", func(t *testing.T) {
		entries, err := Read(strings.NewReader(log))
		require.NoError(t, err)
		var b bytes.Buffer
		w, err := NewWriter(&b)
		require.NoError(t, err)
		for _, e := range entries {
			require.NoError(t, w.Write(e))
		}
		assert.Equal(t, log, b.String())
	})
}
