package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/joblog"
)

// TestRunBlockMode runs workers over an input in blocks, from a file read
// in place and from standard input, and checks the outputs come in input
// order, to stdout or to -o.
func TestRunBlockMode(t *testing.T) {
	dir := t.TempDir()
	input := lines(20000)
	in := writeFile(t, dir, "in.txt", input)
	upper := strings.ToUpper(input)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
		out   string // -o file to read instead of stdout
	}{
		{"file to stdout", "", []string{"run", "-a", in, "--block", "16k", "tr a-z A-Z"}, upper, ""},
		{"stdin streamed", input, []string{"run", "--block", "16k", "-j", "3", "tr a-z A-Z"}, upper, ""},
		{"file to -o", "", []string{"run", "-a", in, "-o", filepath.Join(dir, "out.txt"), "tr", "a-z", "A-Z"}, upper, filepath.Join(dir, "out.txt")},
		{"worker flags are the worker's", "a1\nb\nc1\n", []string{"run", "grep", "-c", "1"}, "2\n", ""},
		{"default block for a file", "", []string{"run", "-a", in, "wc -l"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dproc(t, tt.stdin, tt.args...)
			require.Equal(t, 0, r.code, r.stderr)
			got := r.stdout
			if tt.out != "" {
				b, err := os.ReadFile(tt.out)
				require.NoError(t, err)
				got = string(b)
				assert.Empty(t, r.stdout)
			}
			if tt.want == "" { // line counts that add up to the input's
				sum := 0
				for _, f := range strings.Fields(got) {
					n, err := strconv.Atoi(f)
					require.NoError(t, err)
					sum += n
				}
				assert.Equal(t, 20000, sum)
				assert.Greater(t, len(strings.Fields(got)), 1, "several blocks")
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestRunFailedOutputNotWritten checks that -o appears only when every
// block succeeded.
func TestRunFailedOutputNotWritten(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r := dproc(t, lines(100), "run", "--block", "1", "-o", out, `if grep -q "line 50$"; then exit 9; fi`)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.NoFileExists(t, out)
	assert.Regexp(t, `^dproc: chunk \d+ on node\d: if grep -q "line 50\$"; then exit 9; fi: exit status 9\n$`, r.stderr)
}

// TestRunWorkerFile ships a script once per host and runs it with the rest
// of the command line as its arguments.
func TestRunWorkerFile(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "count.sh", "#!/bin/sh\nprintf '%s:' \"$1\"\nwc -l\n")
	r := dproc(t, "", "run", "-a", writeFile(t, dir, "in", lines(10)), "--worker-file", script, "lines")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "lines:10\n", r.stdout)
}

// hostile are arguments that a shell would take for code, options or
// several words if they were pasted into the command line unquoted.
var hostile = []string{"$(id)", "`id`", "a'b\"c", "x y  z", "-n", "*", "; echo pwned", "line1\nline2", "", "\\", "{}", "$HOME", "trailing\n\n"}

// TestArgumentModeHostile runs one job per argument, from every source,
// and checks each argument reaches the command as one word, unchanged, in
// argument order.
func TestArgumentModeHostile(t *testing.T) {
	dir := t.TempDir()
	var want strings.Builder
	for _, a := range hostile {
		want.WriteString("[" + a + "]\n")
	}
	// Newlines cannot be in a line-per-argument source.
	var lineArgs []string
	var wantLines strings.Builder
	for _, a := range hostile {
		if !strings.Contains(a, "\n") {
			lineArgs = append(lineArgs, a)
			wantLines.WriteString("[" + a + "]\n")
		}
	}
	argFile := writeFile(t, dir, "args", strings.Join(lineArgs, "\n")+"\n")
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{":::", "", append([]string{"run", "-j", "3", "printf '[%s]\\n' {}", ":::"}, hostile...), want.String()},
		{"appended without {}", "", append([]string{"run", "printf", "'[%s]\\n'", ":::"}, hostile...), want.String()},
		{"::::", "", []string{"run", "printf '[%s]\\n' {}", "::::", argFile}, wantLines.String()},
		{"--args", strings.Join(lineArgs, "\n") + "\n", []string{"run", "--args", "printf '[%s]\\n' {}"}, wantLines.String()},
		{"--args -a", "", []string{"run", "--args", "-a", argFile, "printf '[%s]\\n' {}"}, wantLines.String()},
		{"combinations", "", []string{"run", "printf '%s|%s\\n' {}", ":::", "a", "b", ":::", "1", "2"}, "a 1|\na 2|\nb 1|\nb 2|\n"},
		{"combinations appended", "", []string{"run", "printf '%s|%s\\n'", ":::", "a", "b", ":::", "1", "$(id)"}, "a|1\na|$(id)\nb|1\nb|$(id)\n"},
		{"no arguments", "", []string{"run", "echo {}", ":::"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dproc(t, tt.stdin, tt.args...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, tt.want, r.stdout)
		})
	}
}

// TestArgumentModeErrorNamesArgument checks the one line of a failed job.
func TestArgumentModeErrorNamesArgument(t *testing.T) {
	r := dproc(t, "", "run", "test {} != bad", ":::", "ok", "bad")
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `^dproc: argument "bad" on node\d: test bad != bad: exit status 1\n$`, r.stderr)
}

// TestJoblogColumns writes a joblog and checks its rows against GNU
// parallel's columns: the header, and for each job its Seq, Send, Receive,
// Exitval, Signal and Command as GNU parallel logs the same jobs.
func TestJoblogColumns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "joblog")
	args := []string{"printf %s {}; exit {}", ":::", "0", "3", "0", "22"}
	r := dproc(t, "", append([]string{"run", "--joblog", path}, args...)...)
	require.Equal(t, 2, r.code, r.stderr)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(raw), joblog.Header))
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		assert.Len(t, strings.SplitN(l, "\t", 9), 9, "line %q", l)
	}
	ours := readJoblog(t, path)
	require.Len(t, ours, 4)
	for _, e := range ours {
		assert.Contains(t, []string{"node1", "node2", "node3"}, e.Host)
		assert.False(t, e.Start.IsZero())
	}

	if _, err := exec.LookPath("parallel"); err != nil {
		t.Logf("GNU parallel not installed: compared with dproc's own expectations only")
		assert.Equal(t, []joblog.Entry{
			{Seq: 1, Receive: 1, Command: "printf %s 0; exit 0"},
			{Seq: 2, Receive: 1, Exitval: 3, Command: "printf %s 3; exit 3"},
			{Seq: 3, Receive: 1, Command: "printf %s 0; exit 0"},
			{Seq: 4, Receive: 2, Exitval: 22, Command: "printf %s 22; exit 22"},
		}, comparable(ours))
		return
	}
	gnuPath := filepath.Join(dir, "gnu")
	cmd := exec.Command("parallel", append([]string{"--will-cite", "--joblog", gnuPath}, args...)...)
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	err = cmd.Run()
	var xe *exec.ExitError
	require.ErrorAs(t, err, &xe)
	assert.Equal(t, 2, xe.ExitCode(), "GNU parallel's exit status, as dproc's")
	assert.Equal(t, comparable(readJoblog(t, gnuPath)), comparable(ours))
}

func readJoblog(t *testing.T, path string) []joblog.Entry {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	e, err := joblog.Read(f)
	require.NoError(t, err)
	return e
}

// comparable keeps the columns that do not depend on timing or hosts, in
// Seq order.
func comparable(es []joblog.Entry) []joblog.Entry {
	out := make([]joblog.Entry, len(es))
	for _, e := range es {
		out[e.Seq-1] = joblog.Entry{Seq: e.Seq, Send: e.Send, Receive: e.Receive, Exitval: e.Exitval, Signal: e.Signal, Command: e.Command}
	}
	return out
}

// TestJoblogBlockMode checks a block-mode joblog: one row per chunk, Send
// the chunk's size, Receive its output's.
func TestJoblogBlockMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "joblog")
	input := lines(3000)
	r := dproc(t, "", "run", "-a", writeFile(t, dir, "in", input), "--block", "8k", "--joblog", path, "wc -c")
	require.Equal(t, 0, r.code, r.stderr)
	es := readJoblog(t, path)
	require.Greater(t, len(es), 2)
	var send int64
	seqs := map[int64]bool{}
	for _, e := range es {
		send += e.Send
		seqs[e.Seq] = true
		assert.Equal(t, int64(len(strconv.FormatInt(e.Send, 10))+1), e.Receive, "wc -c prints the chunk's size")
		assert.Equal(t, "wc -c", e.Command)
	}
	assert.Equal(t, int64(len(input)), send)
	assert.Len(t, seqs, len(es))
}

// TestResumeFromJournal runs with a job that fails, then completes the run
// with --resume: only the failed job runs again, and the output is whole.
func TestResumeFromJournal(t *testing.T) {
	for _, flag := range []string{"--resume", "--resume-failed"} {
		t.Run(flag, func(t *testing.T) {
			dir := t.TempDir()
			journal := filepath.Join(dir, "journal")
			ran := filepath.Join(dir, "ran")
			gate := filepath.Join(dir, "gate")
			out := filepath.Join(dir, "out")
			worker := "echo {} >> " + ran + "; if [ {} = c ] && [ ! -e " + gate + " ]; then exit 1; fi; echo {}"
			r := dproc(t, "", "run", "--journal", journal, "-o", out, worker, ":::", "a", "b", "c", "d")
			require.Equal(t, 1, r.code, r.stderr)
			assert.NoFileExists(t, out)
			writeFile(t, dir, "gate", "")
			require.NoError(t, os.Remove(ran))
			r = dproc(t, "", "run", "--journal", journal, flag, "-o", out, worker, ":::", "a", "b", "c", "d")
			require.Equal(t, 0, r.code, r.stderr)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, "a\nb\nc\nd\n", string(b))
			b, err = os.ReadFile(ran)
			require.NoError(t, err)
			assert.Equal(t, "c\n", string(b), "only the failed job ran again")
		})
	}
}

// TestResumeFromJoblog pins GNU parallel's joblog resumes in argument
// mode: --resume skips every logged job, --resume-failed runs the failed
// ones again; both append to the log.
func TestResumeFromJoblog(t *testing.T) {
	for _, tt := range []struct {
		flag  string
		again string
	}{{"--resume", "d\n"}, {"--resume-failed", "b\nd\n"}} {
		t.Run(tt.flag, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "joblog")
			r := dproc(t, "", "run", "--joblog", log, "echo {}; [ {} != b ]", ":::", "a", "b", "c")
			require.Equal(t, 1, r.code, r.stderr)
			r = dproc(t, "", "run", "--joblog", log, tt.flag, "echo {}", ":::", "a", "b", "c", "d")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, tt.again, r.stdout)
			raw, err := os.ReadFile(log)
			require.NoError(t, err)
			assert.Equal(t, 1, strings.Count(string(raw), "Seq\t"), "appended, one header")
			logged, failed := joblog.Seqs(readJoblog(t, log))
			assert.Equal(t, []int64{1, 2, 3, 4}, logged)
			if tt.flag == "--resume-failed" {
				assert.Empty(t, failed)
			} else {
				assert.Equal(t, []int64{2}, failed)
			}
		})
	}
}

// TestResultsAndTag checks --results files and --tag prefixes on stdout
// and stderr.
func TestResultsAndTag(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "res")
	r := dproc(t, "", "run", "--results", res, "--tag", "echo out {}; echo err {} >&2", ":::", "a", "b c", "..")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "a\tout a\nb c\tout b c\n..\tout ..\n", r.stdout)
	for _, l := range []string{"a\terr a\n", "b c\terr b c\n", "..\terr ..\n"} {
		assert.Contains(t, r.stderr, l)
	}
	for i, a := range []string{"a", "b c", ".."} {
		d := filepath.Join(res, strconv.Itoa(i+1))
		assert.FileExists(t, filepath.Join(d, "stdout"))
		b, _ := os.ReadFile(filepath.Join(d, "stdout"))
		assert.Equal(t, "out "+a+"\n", string(b))
		b, _ = os.ReadFile(filepath.Join(d, "stderr"))
		assert.Equal(t, "err "+a+"\n", string(b))
	}
	left, _ := filepath.Glob(filepath.Join(res, "*", ".stdout.tmp-*"))
	assert.Empty(t, left)

	r = dproc(t, "x\n", "run", "--tag", "cat")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, "^node[1-3]\tx\n$", r.stdout, "block mode tags with the host")
}

// TestRetriesAndTimeout checks that --retries runs a failed job again and
// --timeout stops a hung one, which counts as failed with Exitval -1.
func TestRetriesAndTimeout(t *testing.T) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	r := dproc(t, "", "run", "--retries", "2", "echo x >> "+count+"; [ $(wc -l < "+count+") -ge 3 ] && echo {}", ":::", "ok")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "ok\n", r.stdout)

	log := filepath.Join(dir, "joblog")
	r = dproc(t, "", "run", "--timeout", "300ms", "--joblog", log, "sleep {}", ":::", "20", "0")
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, `argument "20"`)
	assert.Contains(t, r.stderr, "timed out")
	es := comparable(readJoblog(t, log))
	assert.Equal(t, -1, es[0].Exitval)
	assert.Equal(t, 0, es[1].Exitval)
}

// TestProgressOffTerminal checks that off a terminal nothing is shown
// without --progress, and that --progress gives progress lines and a
// per-host report whose rows add up.
func TestProgressOffTerminal(t *testing.T) {
	r := dproc(t, "", "run", "echo {}", ":::", "a", "b")
	require.Equal(t, 0, r.code)
	assert.Empty(t, r.stderr)
	r = dproc(t, "", "run", "--progress", "echo {}", ":::", "a", "b", "c")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "a\nb\nc\n", r.stdout)
	assert.Contains(t, r.stderr, "3/3 jobs")
	assert.Regexp(t, `\(total\)\s+6\s+3\s+0\s+0\s+0`, r.stderr)
	assert.Contains(t, r.stderr, "3 of 3 done")
}

// TestSlots checks that -j sets every host's slots and an N/ prefix
// overrides it for its host, as the per-host report shows.
func TestSlots(t *testing.T) {
	r := dproc(t, "", "run", "--progress", "--local", "-w", "1/node1,node2", "-j", "3", "echo {}", ":::", "a", "b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `node1\s+1\s`, r.stderr)
	assert.Regexp(t, `node2\s+3\s`, r.stderr)
	assert.Regexp(t, `\(total\)\s+4\s+2\s`, r.stderr)
}

// TestHaltShare checks --halt now,fail=P%: the run stops once more than P%
// of the jobs seen so far failed, says so, and exits with the count.
func TestHaltShare(t *testing.T) {
	args := []string{"run", "-j", "1", "--halt", "now,fail=30%", "[ {} = 0 ] || exit 1; sleep 0.2", ":::", "1"}
	for i := 0; i < 30; i++ {
		args = append(args, "0")
	}
	r := dproc(t, "", args...)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "dproc: stopped: more than the --halt share of jobs failed\n")
}

// TestUnreadWarning checks the warning for a worker that exits 0 without
// reading its whole block.
func TestUnreadWarning(t *testing.T) {
	r := dproc(t, lines(200000), "run", "--block", "1M", "-j", "1", "head -n 1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^dproc: warning: the worker left \d+ bytes of its input unread \(chunks \[`, r.stderr)
}

// TestResumeBlockMode completes a block-mode run from its journal: the
// output is the same as an uninterrupted run's.
func TestResumeBlockMode(t *testing.T) {
	dir := t.TempDir()
	input := lines(5000)
	in := writeFile(t, dir, "in", input)
	journal := filepath.Join(dir, "journal")
	out := filepath.Join(dir, "out")
	gate := filepath.Join(dir, "gate")
	worker := `d=$(cat); if printf '%s\n' "$d" | grep -q '^line 2500$' && [ ! -e ` + gate + ` ]; then exit 6; fi; printf '%s\n' "$d" | tr a-z A-Z`
	r := dproc(t, "", "run", "-a", in, "--block", "4k", "--journal", journal, "-o", out, worker)
	require.Equal(t, 1, r.code, r.stderr)
	assert.Contains(t, r.stderr, "exit status 6")
	assert.NoFileExists(t, out)
	writeFile(t, dir, "gate", "")
	r = dproc(t, "", "run", "-a", in, "--block", "4k", "--journal", journal, "--resume", "-o", out, worker)
	require.Equal(t, 0, r.code, r.stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, strings.ToUpper(input), string(b))
}
