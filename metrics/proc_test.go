package metrics

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture returns a file of the parsers' testdata, copied from /proc and
// df -kP of a Linux 6.18 virtual machine.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("internal", "procfs", "testdata", name))
	require.NoError(t, err)
	return b
}

// requireParseError checks that err is a *ParseError for section.
func requireParseError(t *testing.T, err error, section string) {
	t.Helper()
	require.ErrorIs(t, err, ErrParse)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, section, pe.Section)
	assert.Contains(t, err.Error(), "section "+section)
}

// statusOutput builds StatusScript output from the fixtures, leaving out
// the sections named in skip and replacing those in repl.
func statusOutput(t testing.TB, skip string, repl map[string]string) []byte {
	secs := []struct{ name, text string }{
		{"hostname", "vm\n"},
		{"kernel", "Linux 6.18.44-fc-v669\n"},
		{"uptime", string(fixture(t, "uptime.txt"))},
		{"loadavg", string(fixture(t, "loadavg.txt"))},
		{"cpus", "2\n"},
		{"meminfo", string(fixture(t, "meminfo.txt"))},
		{"df", string(fixture(t, "df.txt"))},
		{"end", ""},
	}
	var b strings.Builder
	for _, s := range secs {
		if s.name == skip {
			continue
		}
		text := s.text
		if r, ok := repl[s.name]; ok {
			text = r
		}
		b.WriteString(marker + s.name + "\n" + text)
	}
	return []byte(b.String())
}

func TestParseStatus(t *testing.T) {
	st, err := parseStatus(statusOutput(t, "", nil))
	require.NoError(t, err)
	assert.Equal(t, "vm", st.Hostname)
	assert.Equal(t, "Linux 6.18.44-fc-v669", st.Kernel)
	assert.InDelta(t, 10767.13, st.Uptime.Seconds(), 1e-6)
	assert.Equal(t, [3]float64{2.08, 1.05, 0.42}, [3]float64{st.Load1, st.Load5, st.Load15})
	assert.Equal(t, 2, st.CPUs)
	assert.Equal(t, uint64(24684084<<10), st.MemTotal)
	assert.Equal(t, uint64(24229140<<10), st.MemAvailable)
	assert.Zero(t, st.SwapTotal)
	assert.Len(t, st.Filesystems, 5)
	assert.Empty(t, st.Host)
	assert.NoError(t, st.Err)

	tests := []struct {
		name    string
		skip    string
		repl    map[string]string
		section string
	}{
		{"truncated", "end", nil, "end"},
		{"no hostname", "hostname", nil, "hostname"},
		{"empty kernel", "", map[string]string{"kernel": "\n"}, "kernel"},
		{"no uptime", "uptime", nil, "uptime"},
		{"bad loadavg", "", map[string]string{"loadavg": "high\n"}, "loadavg"},
		{"bad cpus", "", map[string]string{"cpus": "zero\n"}, "cpus"},
		{"zero cpus", "", map[string]string{"cpus": "0\n"}, "cpus"},
		{"bad meminfo", "", map[string]string{"meminfo": "MemTotal: x kB\n"}, "meminfo"},
		{"no df", "df", nil, "df"},
		{"df printed nothing", "", map[string]string{"df": ""}, "df"},
		{"bad df", "", map[string]string{"df": "Filesystem\n/dev/sda 1 2\n"}, "df"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStatus(statusOutput(t, tt.skip, tt.repl))
			requireParseError(t, err, tt.section)
		})
	}

	// Fields parsed before the error keep their values.
	st, err = parseStatus(statusOutput(t, "", map[string]string{"df": ""}))
	require.Error(t, err)
	assert.Equal(t, "vm", st.Hostname)
	assert.Equal(t, 2, st.CPUs)
}

func TestSections(t *testing.T) {
	got := sections([]byte("motd\n##dproc a\n1\n2\n##dproc b\n##dproc c\nlast"))
	assert.Equal(t, map[string][]byte{"a": []byte("1\n2\n"), "b": {}, "c": []byte("last")}, got)
	assert.Empty(t, sections([]byte("no markers\n")))
}

// frameText returns one frame of SamplerScript output.
func frameText(uptime, stat, meminfo, diskstats string) string {
	return marker + "uptime\n" + uptime + "\n" + marker + "stat\n" + stat + "\n" +
		marker + "meminfo\n" + meminfo + "\n" + marker + "diskstats\n" + diskstats + "\n" + marker + "end\n"
}

func TestFrameSince(t *testing.T) {
	const mem = "MemTotal: 1000 kB\nMemAvailable: 250 kB"
	// Over 2 s: vda reads 4096 sectors (2 MiB) and writes 2048 (1 MiB) and
	// is busy 500 ms; sdb is busy 1500 ms; its partition sdb1 and the
	// dm-0 on top of it are not counted, nor is loop0.
	prev := frameText("100.00 50.00", "cpu 100 0 100 800 0 0 0 0 0 0", mem,
		"254 0 vda 0 0 1000 0 0 0 1000 0 0 1000 0\n8 16 sdb 0 0 0 0 0 0 0 0 0 0 0\n"+
			"8 17 sdb1 0 0 0 0 0 0 0 0 0 0 0\n253 0 dm-0 0 0 0 0 0 0 0 0 0 0 0\n7 0 loop0 0 0 0 0 0 0 0 0 0 0 0")
	cur := frameText("102.00 51.00", "cpu 150 0 150 1100 0 0 0 0 0 0", mem,
		"254 0 vda 0 0 5096 0 0 0 3048 0 0 1500 0\n8 16 sdb 0 0 0 0 0 0 0 0 0 1500 0\n"+
			"8 17 sdb1 0 0 99999 0 0 0 0 0 0 2000 0\n253 0 dm-0 0 0 99999 0 0 0 99999 0 0 2000 0\n7 0 loop0 0 0 9999 0 0 0 0 0 0 2000 0")
	p, err := parseFrame([]byte(prev))
	require.NoError(t, err)
	c, err := parseFrame([]byte(cur))
	require.NoError(t, err)
	s := c.since(p)
	assert.InDelta(t, 25.0, s.CPU, 1e-9)
	assert.InDelta(t, 75.0, s.Memory, 1e-9)
	assert.InDelta(t, 75.0, s.IO, 1e-9) // sdb: 1500 ms of 2000
	assert.InDelta(t, 1<<20, s.ReadBps, 1e-9)
	assert.InDelta(t, 1<<19, s.WriteBps, 1e-9)

	// No time passed: rates are zero, not infinite.
	s = c.since(c)
	assert.Zero(t, s.ReadBps)
	assert.Zero(t, s.IO)
	// Counters went backwards (reboot): no negative rates.
	s = p.since(c)
	assert.Zero(t, s.CPU)
	assert.Zero(t, s.ReadBps)
	assert.Zero(t, s.WriteBps)
}

func TestReadFrame(t *testing.T) {
	ok := frameText("1 1", "cpu 1 2 3 4", "MemTotal: 1 kB", "")
	tests := []struct {
		name    string
		in      string
		frames  int
		section string // of the error after the frames; "" for io.EOF
	}{
		{"two frames", ok + ok, 2, ""},
		{"noise before the first frame", "welcome\n" + ok, 1, ""},
		{"cut inside a frame", ok + ok[:30], 1, "frame"},
		{"frame without stat", marker + "uptime\n1 1\n" + marker + "meminfo\nMemTotal: 1 kB\n" + marker + "diskstats\n" + marker + "end\n", 0, "stat"},
		{"bad meminfo", frameText("1 1", "cpu 1 2 3 4", "MemTotal: x kB", ""), 0, "meminfo"},
		{"too long", marker + "uptime\n" + strings.Repeat("x", maxFrame) + "\n", 0, "frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.in))
			for range tt.frames {
				_, err := readFrame(r)
				require.NoError(t, err)
			}
			_, err := readFrame(r)
			if tt.section == "" {
				require.True(t, errors.Is(err, io.EOF), "err = %v", err)
				return
			}
			requireParseError(t, err, tt.section)
		})
	}
}
