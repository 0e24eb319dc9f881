package sshtransport

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

func TestTrailerFilter(t *testing.T) {
	const marker = trailerLead + "dproc-unread-0123456789abcdef="
	tests := []struct {
		name    string
		in      string
		wantOut string
		wantN   int64 // -1: no trailer
	}{
		{"trailer only", marker + "42\n", "", 42},
		{"after a line", "oops\n" + marker + "0\n", "oops\n", 0},
		{"last line without newline", "no newline" + marker + "123\n", "no newline", 123},
		{"a count in the middle is the command's", marker + "5\nmore\n" + marker + "6\n", marker + "5\nmore\n", 6},
		{"no trailer", "just\nstderr", "just\nstderr", -1},
		{"a cut trailer is the command's", "x\n" + marker + "12", "x\n" + marker + "12", -1},
		{"no digits", "x\n" + marker + "\n", "x\n" + marker + "\n", -1},
		{"other marker", "x\n\x00dproc-unread-ffffffffffffffff=3\n", "x\n\x00dproc-unread-ffffffffffffffff=3\n", -1},
		{"a newline marker is the command's", "x\n\ndproc-unread-0123456789abcdef=3\n", "x\n\ndproc-unread-0123456789abcdef=3\n", -1},
		{"empty", "", "", -1},
	}
	for _, tc := range tests {
		for _, size := range []int{1, 3, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, size), func(t *testing.T) {
				var out bytes.Buffer
				f := &trailerFilter{w: &out, marker: []byte(marker)}
				for in := []byte(tc.in); len(in) > 0; {
					k := min(size, len(in))
					n, err := f.Write(in[:k])
					require.NoError(t, err)
					require.Equal(t, k, n)
					in = in[k:]
				}
				n, ok := f.flush()
				assert.Equal(t, tc.wantN >= 0, ok)
				assert.Equal(t, tc.wantN, n)
				assert.Equal(t, tc.wantOut, out.String(), "writes of %d bytes", size)
			})
		}
	}
}

// TestTrailerFilterPassesLines checks that the filter holds back nothing
// of a write that cannot start the trailer: a line the command writes
// reaches w whole, in one Write, at once, and not only when the stream
// ends, so that lines of commands sharing a writer do not interleave.
func TestTrailerFilterPassesLines(t *testing.T) {
	marker := trailerLead + "dproc-unread-0123456789abcdef="
	for _, tc := range []struct {
		name  string
		write string
		held  string
	}{
		{"a line", "note\n", ""},
		{"lines", "one\ntwo\n\n", ""},
		{"a part of a line", "no newline", ""},
		{"a NUL in the middle", "a\x00b\n", ""},
		{"the start of the trailer", "x\n" + marker[:5], marker[:5]},
		{"a NUL last", "bin\x00", "\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var writes []string
			w := writerFunc(func(p []byte) (int, error) {
				writes = append(writes, string(p))
				return len(p), nil
			})
			f := &trailerFilter{w: w, marker: []byte(marker)}
			n, err := f.Write([]byte(tc.write))
			require.NoError(t, err)
			require.Equal(t, len(tc.write), n)
			passed := tc.write[:len(tc.write)-len(tc.held)]
			if passed == "" {
				assert.Empty(t, writes)
			} else {
				assert.Equal(t, []string{passed}, writes, "passed on at once, in one Write")
			}
			_, ok := f.flush()
			assert.False(t, ok)
			assert.Equal(t, tc.write, strings.Join(writes, ""))
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestCountingCommand runs the counting wrapper as sshd would, under every
// login shell installed: the job gets the input, its arguments and exit
// status as they are, and the count of what it left closes standard error.
func TestCountingCommand(t *testing.T) {
	input := strings.Repeat("input line\n", 20000)
	const marker = "dproc-unread-00ff00ff00ff00ff="
	for _, shell := range loginShells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				cmd      transport.Command
				stdout   string
				stderr   string
				unread   int64
				exitCode int
			}{
				{"args", transport.Command{Args: append([]string{"printf", `%s\000`}, hostileArgs...)}, strings.Join(hostileArgs, "\x00") + "\x00", "", int64(len(input)), 0},
				{"head -c 11", transport.Command{Args: []string{"head", "-c", "11"}}, "input line\n", "", int64(len(input) - 11), 0},
				{"cat", transport.Command{Shell: "cat >/dev/null; echo $# >&2"}, "", "0\n", 0, 0},
				{"stderr without newline", transport.Command{Shell: "printf oops >&2; exit 4"}, "", "oops", int64(len(input)), 4},
				// 147 and 148 are 128+STOP and 128+TSTP: re-raising them
				// would stop the wrapper, and Run would wait for ever.
				{"exit 147", transport.Command{Shell: "exit 147"}, "", "", int64(len(input)), 147},
				{"exit 148", transport.Command{Shell: "exit 148"}, "", "", int64(len(input)), 148},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var out, errb bytes.Buffer
					tf := &trailerFilter{w: &errb, marker: []byte(trailerLead + marker)}
					f := &pidFilter{w: tf, pid: make(chan string, 1)}
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					c := exec.CommandContext(ctx, shell, "-c", countingCommand(&tc.cmd, marker))
					c.Dir = t.TempDir()
					c.Stdout, c.Stderr = &out, f
					c.Stdin = strings.NewReader(input)
					err := c.Run()
					if tc.exitCode == 0 {
						require.NoError(t, err, errb.String())
					} else {
						var ee *exec.ExitError
						require.ErrorAs(t, err, &ee)
						assert.Equal(t, tc.exitCode, ee.ExitCode())
					}
					n, ok := tf.flush()
					require.True(t, ok, "no count on standard error: %q", errb.String())
					assert.Equal(t, tc.unread, n)
					assert.Equal(t, tc.stdout, out.String())
					assert.Equal(t, tc.stderr, errb.String())
				})
			}
		})
	}
}
