package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProgressOnTerminal runs dproc with its standard error on a real
// pseudo-terminal of 24 by 100: the live display (host lines and the bar)
// and the per-host report appear there, with no --progress, standard
// output gets only the outputs, and the workers' standard error is printed
// above the display (each line after the display's clearing of its own
// lines, or after another such line), never across it.
func TestProgressOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	require.NoError(t, pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 100}))
	cmd := exec.Command(os.Args[0], "run", "-j", "1", "sleep 0.3; echo note-{} >&2; echo {}", ":::", "a", "b", "c", "d", "e", "f")
	cmd.Env = append(os.Environ(), "DPROC_TEST_MAIN=1", "TMPDIR="+t.TempDir(), "TERM=xterm")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	require.NoError(t, cmd.Start())
	tty.Close()
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&screen, ptmx); close(done) }()
	require.NoError(t, cmd.Wait())
	ptmx.Close()
	<-done
	assert.Equal(t, "a\nb\nc\nd\ne\nf\n", stdout.String())
	out := screen.String()
	assert.Regexp(t, `total 6/6 jobs +\[=+\] +100 %`, out, "the live bar")
	assert.Regexp(t, `node1 +2 jobs`, out, "the live host lines")
	assert.Contains(t, out, "(total)")
	assert.Contains(t, out, "6 of 6 done")
	assert.True(t, strings.HasSuffix(out, "\r\n"), "the screen ends with a whole line")
	notes := regexp.MustCompile(`note-[a-f]\r\n`).FindAllStringIndex(out, -1)
	require.Len(t, notes, 6, "%q", out)
	for _, n := range notes {
		before := out[:n[0]]
		assert.True(t, n[0] == 0 || strings.HasSuffix(before, "\x1b[J") || regexp.MustCompile(`note-[a-f]\r\n$`).MatchString(before),
			"a worker's line is printed above the display, not across it: %q", out[max(0, n[0]-80):n[1]])
	}
}
