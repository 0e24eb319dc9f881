package progress_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"dproc/cmd/dproc/internal/progress"
	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport/memtransport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const runID = "0123456789ab"

// script is a run over three hosts of total chunks: h1 and h2 do the
// work, h3 goes down and stays down.
func script(total int) []dispatch.Event {
	ev := []dispatch.Event{
		{Kind: dispatch.HostReady, Host: "h1", Chunk: -1},
		{Kind: dispatch.HostReady, Host: "h2", Chunk: -1},
		{Kind: dispatch.HostReady, Host: "h3", Chunk: -1},
		{Kind: dispatch.ChunkStarted, Host: "h3", Chunk: 0, Attempt: 1},
		{Kind: dispatch.HostDown, Host: "h3", Chunk: -1, Err: errors.New("connection refused\nsecond line")},
		{Kind: dispatch.ChunkLost, Host: "h3", Chunk: 0, Attempt: 1},
	}
	for i := 0; i < total; i++ {
		h := []string{"h1", "h2"}[i%2]
		ev = append(ev,
			dispatch.Event{Kind: dispatch.ChunkStarted, Host: h, Chunk: i, Attempt: 1},
			dispatch.Event{Kind: dispatch.ChunkDone, Host: h, Chunk: i, Attempt: 1, Bytes: 1000})
	}
	for i := range ev {
		ev[i].Run = runID
		ev[i].Time = time.Now()
	}
	return ev
}

// screen is the little of a terminal the display may use: printable
// text, CR, LF, cursor up (CSI n A), erase below (CSI J), erase line
// (CSI K), and cursor hide and show (CSI ?25l, ?25h). Anything else
// fails the test, so the display cannot rely on more without notice.
type screen struct {
	lines    [][]rune
	row, col int
	hidden   bool
}

func (s *screen) put(r rune) {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	l := s.lines[s.row]
	for len(l) <= s.col {
		l = append(l, ' ')
	}
	l[s.col] = r
	s.lines[s.row] = l
	s.col++
}

func (s *screen) play(t *testing.T, out []byte) {
	t.Helper()
	for len(out) > 0 {
		switch out[0] {
		case '\r':
			s.col, out = 0, out[1:]
		case '\n':
			s.row, out = s.row+1, out[1:]
		case 0x1b:
			require.GreaterOrEqual(t, len(out), 3, "cut escape sequence")
			require.Equal(t, byte('['), out[1], "only CSI sequences")
			i := 2
			for i < len(out) && (out[i] >= '0' && out[i] <= '9' || out[i] == '?' || out[i] == ';') {
				i++
			}
			require.Less(t, i, len(out), "cut escape sequence")
			param, final := string(out[2:i]), out[i]
			n := 1
			if param != "" && param[0] != '?' {
				var err error
				n, err = strconv.Atoi(param)
				require.NoError(t, err)
			}
			switch {
			case final == 'A':
				s.row = max(s.row-n, 0)
			case final == 'J':
				if s.row < len(s.lines) {
					if s.col < len(s.lines[s.row]) {
						s.lines[s.row] = s.lines[s.row][:s.col]
					}
					s.lines = s.lines[:s.row+1]
				}
			case final == 'K':
				if s.row < len(s.lines) && s.col < len(s.lines[s.row]) {
					s.lines[s.row] = s.lines[s.row][:s.col]
				}
			case param == "?25" && final == 'l':
				s.hidden = true
			case param == "?25" && final == 'h':
				s.hidden = false
			default:
				t.Fatalf("unexpected escape sequence %q", out[:i+1])
			}
			out = out[i+1:]
		default:
			r, n := utf8.DecodeRune(out)
			require.True(t, r >= ' ', "control byte %#x", out[0])
			s.put(r)
			out = out[n:]
		}
	}
}

func (s *screen) text() []string {
	var l []string
	for _, r := range s.lines {
		l = append(l, strings.TrimRight(string(r), " "))
	}
	return l
}

// inPty runs fn with the slave side of a new 100x30 pseudo-terminal and
// returns everything written to it.
func inPty(t *testing.T, fn func(tty *os.File)) []byte {
	t.Helper()
	ptm, tty, err := pty.Open()
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(tty, &pty.Winsize{Rows: 30, Cols: 100}))
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(&out, ptm) // ends with EIO once the tty is closed
	}()
	fn(tty)
	require.NoError(t, tty.Close())
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	ptm.Close()
	return out.Bytes()
}

func TestLiveDisplayInTerminal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int // chunks announced to New
		ran   int // chunks done by the script
		wait  time.Duration
		want  []string
	}{
		{"complete", 6, 6, 400 * time.Millisecond, []string{"6/6 chunks", "100 %", "done"}},
		{"stopped early", 6, 4, 400 * time.Millisecond, []string{"4/6 chunks", "67 %", "stopped"}},
		{"unknown total", 0, 5, 400 * time.Millisecond, []string{"total 5 chunks done, 4.9 KiB out, 1 of 3 hosts down"}},
		{"closed before a frame", 6, 6, 0, []string{"6/6 chunks", "100 %", "done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := inPty(t, func(tty *os.File) {
				require.True(t, progress.IsTerminal(tty))
				d := progress.New(tty, []string{"h1", "h2", "h3"}, tc.total, nil)
				for _, e := range script(tc.ran) {
					d.Event(e)
				}
				time.Sleep(tc.wait) // let a frame or two be drawn
				require.NoError(t, d.Close())
				require.NoError(t, d.Close(), "a second Close does nothing")
			})
			require.NotEmpty(t, out)
			if tc.wait > 0 {
				assert.Contains(t, string(out), "\x1b[", "a live display redraws in place")
			}
			require.True(t, bytes.HasSuffix(out, []byte("\n")), "no partial line left: %q", tail(out))

			var s screen
			s.play(t, out)
			assert.False(t, s.hidden, "cursor left hidden")
			lines := s.text()
			require.Len(t, lines, 4, "3 hosts and the total: %q", lines)
			assert.Equal(t, [2]int{4, 0}, [2]int{s.row, s.col}, "cursor at the start of the line below")
			assert.Regexp(t, `^h1 +\d+ chunks +[\d.]+ (b|KiB) .* idle$`, lines[0])
			assert.Regexp(t, `^h2 +\d+ chunks .* idle$`, lines[1])
			assert.Regexp(t, `^h3 +0 chunks .* down, probing: connection refused \(0 failed, 1 lost\)$`, lines[2])
			assert.Contains(t, lines[0], fmt.Sprintf("%d chunks", (tc.ran+1)/2))
			assert.NotContains(t, strings.Join(lines, "\n"), "second line", "an error keeps to one line")
			assert.True(t, strings.HasPrefix(lines[3], "total "), lines[3])
			for _, w := range tc.want {
				assert.Contains(t, lines[3], w)
			}
			if tc.total > 0 {
				assert.Contains(t, lines[3], "[", "the overall bar")
			}
			for i, l := range lines {
				assert.LessOrEqual(t, utf8.RuneCountInString(l), 100, "line %d fits the terminal", i)
			}
		})
	}
}

func tail(b []byte) []byte {
	return b[max(len(b)-200, 0):]
}

// TestLiveDisplayManyHosts checks that more hosts than MaxHosts are summed
// up on one line.
func TestLiveDisplayManyHosts(t *testing.T) {
	var hosts []string
	for i := 1; i <= 8; i++ {
		hosts = append(hosts, fmt.Sprintf("n%d", i))
	}
	out := inPty(t, func(tty *os.File) {
		d := progress.New(tty, hosts, 2, &progress.Options{MaxHosts: 3, Unit: "jobs"})
		for _, e := range []dispatch.Event{
			{Kind: dispatch.HostReady, Host: "n1", Chunk: -1},
			{Kind: dispatch.HostReady, Host: "n7", Chunk: -1},
			{Kind: dispatch.HostReady, Host: "n8", Chunk: -1},
			{Kind: dispatch.ChunkStarted, Host: "n7", Chunk: 0, Attempt: 1},
			{Kind: dispatch.ChunkDone, Host: "n7", Chunk: 0, Attempt: 1, Bytes: 10},
			{Kind: dispatch.ChunkStarted, Host: "n8", Chunk: 1, Attempt: 1},
			{Kind: dispatch.HostDown, Host: "n6", Chunk: -1, Err: errors.New("reset")},
			{Kind: dispatch.HostDown, Host: "n2", Chunk: -1, Err: errors.New(strings.Repeat("very long error ", 20))},
		} {
			e.Run = runID
			d.Event(e)
		}
		require.NoError(t, d.Close())
	})
	var s screen
	s.play(t, out)
	lines := s.text()
	require.Len(t, lines, 3+1, "%q", lines)
	assert.Equal(t, [2]int{4, 0}, [2]int{s.row, s.col}, "cursor at the start of the line below")
	assert.Regexp(t, `^n1 +0 jobs .* idle$`, lines[0])
	assert.Regexp(t, `^n2 +0 jobs .* down, probing: very long error very long.*…$`, lines[1])
	assert.Equal(t, 100, utf8.RuneCountInString(lines[1]), "a long line is cut to the terminal's width")
	assert.Equal(t, "+6 hosts      1 jobs 10.0 b, 1 running, 4 idle, 1 down", lines[2])
	assert.Contains(t, lines[3], "1/2 jobs")
}

func TestSilentOffTerminal(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer devnull.Close()
	file, err := os.Create(t.TempDir() + "/log")
	require.NoError(t, err)
	defer file.Close()
	var buf bytes.Buffer
	for _, tc := range []struct {
		name string
		w    io.Writer
	}{
		{"bytes.Buffer", &buf},
		{"pipe", pw},
		{"/dev/null", devnull},
		{"regular file", file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.False(t, progress.IsTerminal(tc.w))
			d := progress.New(tc.w, []string{"h1", "h2", "h3"}, 6, nil)
			for _, e := range script(6) {
				d.Event(e)
			}
			require.NoError(t, d.Close())
		})
	}
	require.NoError(t, pw.Close())
	fromPipe, err := io.ReadAll(pr)
	require.NoError(t, err)
	assert.Empty(t, fromPipe)
	assert.Empty(t, buf.String())
	st, err := file.Stat()
	require.NoError(t, err)
	assert.Zero(t, st.Size())
}

func TestForcedTextForm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int
		ran   int
		want  string
	}{
		{"known total", 6, 6, "" +
			"progress: host h3 down, probing: connection refused\nsecond line\n" +
			"progress: 1/6 chunks done (16%)\n" +
			"progress: 2/6 chunks done (33%)\n" +
			"progress: 3/6 chunks done (50%)\n" +
			"progress: 4/6 chunks done (66%)\n" +
			"progress: 5/6 chunks done (83%)\n" +
			"progress: 6/6 chunks done (100%)\n" +
			"progress: 6/6 chunks done, 5.9 KiB out, 1 of 3 hosts down\n"},
		{"unknown total", 0, 23, "" +
			"progress: host h3 down, probing: connection refused\nsecond line\n" +
			"progress: 1 chunks done\nprogress: 2 chunks done\nprogress: 3 chunks done\n" +
			"progress: 4 chunks done\nprogress: 5 chunks done\nprogress: 6 chunks done\n" +
			"progress: 7 chunks done\nprogress: 8 chunks done\nprogress: 9 chunks done\n" +
			"progress: 10 chunks done\nprogress: 20 chunks done\n" +
			"progress: 23 chunks done, 22.5 KiB out, 1 of 3 hosts down\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			d := progress.New(&buf, []string{"h1", "h2", "h3"}, tc.total, &progress.Options{Force: true})
			for _, e := range script(tc.ran) {
				d.Event(e)
			}
			require.NoError(t, d.Close())
			assert.Equal(t, tc.want, buf.String())
			assert.NotContains(t, buf.String(), "\x1b", "no escape codes off a terminal")
		})
	}
}

// gate is a writer that blocks every Write until opened.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// TestEventNeverBlocks feeds many events while the output is stuck: every
// Event call returns, and none is lost once the output moves again.
func TestEventNeverBlocks(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	d := progress.New(g, []string{"h1", "h2", "h3"}, 0, &progress.Options{Force: true})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for _, e := range script(5000) {
			d.Event(e)
		}
	}()
	select {
	case <-fed:
	case <-time.After(20 * time.Second):
		close(g.open)
		t.Fatal("Event blocked on a stuck output")
	}
	close(g.open)
	require.NoError(t, d.Close())
	assert.True(t, strings.HasSuffix(g.buf.String(), "progress: 5000 chunks done, 4.8 MiB out, 1 of 3 hosts down\n"),
		"%q", tail(g.buf.Bytes()))
}

func TestOtherRunsAndLateEventsIgnored(t *testing.T) {
	var buf bytes.Buffer
	d := progress.New(&buf, []string{"h1"}, 2, &progress.Options{Force: true})
	d.Event(dispatch.Event{Kind: dispatch.ChunkDone, Host: "h1", Run: "aaaaaaaaaaaa", Bytes: 1})
	d.Event(dispatch.Event{Kind: dispatch.ChunkDone, Host: "h1", Run: "bbbbbbbbbbbb", Bytes: 1})
	require.NoError(t, d.Close())
	d.Event(dispatch.Event{Kind: dispatch.ChunkDone, Host: "h1", Run: "aaaaaaaaaaaa", Bytes: 1})
	require.NoError(t, d.Close())
	assert.Equal(t, "progress: 1/2 chunks done (50%)\nprogress: 1/2 chunks done, 1.0 b out\n", buf.String())
}

// TestRealRun feeds a real run's events (dispatch over memtransport) to a
// live display: its counts match the run's report, and every host ends
// idle, so the display's bookkeeping follows the dispatcher's events.
func TestRealRun(t *testing.T) {
	mt := memtransport.New(nil)
	defer mt.Close()
	hosts := []string{"h1", "h2", "h3"}
	for _, h := range hosts {
		mt.AddHost(h)
	}
	mt.Handle("cat", func(ctx context.Context, p *memtransport.Process) int {
		_, _ = io.Copy(p.Stdout, p.Stdin)
		return 0
	})
	disp, err := dispatch.New(mt, hosts, &dispatch.Options{Slots: 2})
	require.NoError(t, err)
	in := bytes.Repeat([]byte("a line of input\n"), 2000) // 32000 bytes
	var rep *dispatch.Report
	out := inPty(t, func(tty *os.File) {
		d := progress.New(tty, hosts, 0, nil)
		var runErr error
		rep, runErr = disp.Run(context.Background(), &dispatch.Job{Args: []string{"cat"}},
			split.Blocks(bytes.NewReader(in), int64(len(in)), 1000, nil), gather.Ordered(io.Discard, nil),
			&dispatch.RunOptions{Events: d.Event})
		require.NoError(t, runErr)
		require.NoError(t, d.Close())
	})
	var s screen
	s.play(t, out)
	lines := s.text()
	require.Len(t, lines, 4, "%q", lines)
	sum := 0
	for i, h := range rep.Hosts {
		assert.Regexp(t, fmt.Sprintf(`^%s +%d chunks .* idle$`, h.Host, h.Done), lines[i])
		sum += h.Done
	}
	assert.Equal(t, rep.Done, sum)
	assert.Equal(t, fmt.Sprintf("total %d chunks done, 31.2 KiB out", rep.Done), lines[3])
}

// TestWriteAboveLiveDisplay writes messages while the display runs: whole
// lines appear above the host lines, and text without a newline is ended
// at Close, below the display, so the screen stays clean.
func TestWriteAboveLiveDisplay(t *testing.T) {
	out := inPty(t, func(tty *os.File) {
		d := progress.New(tty, []string{"h1", "h2", "h3"}, 6, nil)
		ev := script(6)
		for _, e := range ev[:8] {
			d.Event(e)
		}
		_, err := io.WriteString(d, "h1: warning: ")
		require.NoError(t, err)
		_, err = io.WriteString(d, "disk almost full\nh2: starting\nh3: no newline")
		require.NoError(t, err)
		time.Sleep(400 * time.Millisecond)
		for _, e := range ev[8:] {
			d.Event(e)
		}
		require.NoError(t, d.Close())
		_, err = io.WriteString(d, "after close\n")
		require.NoError(t, err)
	})
	var s screen
	s.play(t, out)
	lines := s.text()
	require.Len(t, lines, 2+4+2, "%q", lines)
	assert.Equal(t, []string{"h1: warning: disk almost full", "h2: starting"}, lines[:2])
	assert.Regexp(t, `^h1 +3 chunks`, lines[2])
	assert.Contains(t, lines[5], "6/6 chunks")
	assert.Equal(t, []string{"h3: no newline", "after close"}, lines[6:])
	assert.Equal(t, [2]int{8, 0}, [2]int{s.row, s.col})
}

func TestWriteOffTerminal(t *testing.T) {
	t.Run("forced: in order with the progress lines", func(t *testing.T) {
		var buf bytes.Buffer
		d := progress.New(&buf, []string{"h1"}, 2, &progress.Options{Force: true})
		d.Event(dispatch.Event{Kind: dispatch.ChunkDone, Host: "h1", Run: runID, Bytes: 1})
		_, err := io.WriteString(d, "h1: half")
		require.NoError(t, err)
		_, err = io.WriteString(d, " a line\nh1: partial")
		require.NoError(t, err)
		d.Event(dispatch.Event{Kind: dispatch.ChunkDone, Host: "h1", Run: runID, Bytes: 1})
		require.NoError(t, d.Close())
		assert.Equal(t, "progress: 1/2 chunks done (50%)\nh1: half a line\nprogress: 2/2 chunks done (100%)\n"+
			"h1: partial\nprogress: 2/2 chunks done, 2.0 b out\n", buf.String())
	})
	t.Run("not shown: straight through", func(t *testing.T) {
		var buf bytes.Buffer
		d := progress.New(&buf, []string{"h1"}, 2, nil)
		d.Event(dispatch.Event{Kind: dispatch.ChunkDone, Host: "h1", Run: runID, Bytes: 1})
		_, err := io.WriteString(d, "no newline")
		require.NoError(t, err)
		assert.Equal(t, "no newline", buf.String(), "written at once")
		require.NoError(t, d.Close())
		assert.Equal(t, "no newline", buf.String(), "Close adds nothing")
	})
}

// TestResumedAndHostless counts chunks taken from a journal (no host)
// as done, and ignores a host event that names no host.
func TestResumedAndHostless(t *testing.T) {
	var buf bytes.Buffer
	d := progress.New(&buf, []string{"h1"}, 2, &progress.Options{Force: true, Unit: "jobs"})
	d.Event(dispatch.Event{Kind: dispatch.HostDown, Run: runID, Chunk: -1})
	d.Event(dispatch.Event{Kind: dispatch.ChunkResumed, Run: runID, Chunk: 0})
	d.Event(dispatch.Event{Kind: dispatch.ChunkFailed, Run: runID, Chunk: 1, Err: errors.New("exit 1")})
	require.NoError(t, d.Close())
	assert.Equal(t, "progress: 1/2 jobs done (50%)\nprogress: 1/2 jobs done, 1 failed, 0.0 b out\n", buf.String())
}
