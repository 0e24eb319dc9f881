package metrics

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The files in testdata were copied from /proc and df -kP of a Linux 6.18
// virtual machine.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
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

func TestParseUptime(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"fixture", string(fixture(t, "uptime.txt")), 10767*time.Second + 130*time.Millisecond, true},
		{"whole seconds", "5 3\n", 5 * time.Second, true},
		{"empty", "", 0, false},
		{"text", "up 3 days\n", 0, false},
		{"negative", "-1.0 2.0\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUptime([]byte(tt.in))
			if !tt.ok {
				requireParseError(t, err, "uptime")
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want.Seconds(), got.Seconds(), 1e-6)
		})
	}
}

func TestParseLoadavg(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Load
		ok   bool
	}{
		{"fixture", string(fixture(t, "loadavg.txt")), Load{2.08, 1.05, 0.42}, true},
		{"idle", "0.00 0.00 0.00 1/80 12\n", Load{}, true},
		{"two fields", "0.5 0.6\n", Load{}, false},
		{"not a number", "0.5 x 0.7 1/2 3\n", Load{}, false},
		{"empty", "\n", Load{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLoadavg([]byte(tt.in))
			if !tt.ok {
				requireParseError(t, err, "loadavg")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Memory
		ok   bool
	}{
		{"fixture", string(fixture(t, "meminfo.txt")), Memory{
			Total: 24684084 << 10, Free: 23659368 << 10, Available: 24229140 << 10,
		}, true},
		{"swap", "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\n",
			Memory{Total: 1000 << 10, Free: 100 << 10, Available: 400 << 10, SwapTotal: 2048 << 10, SwapFree: 1024 << 10}, true},
		{"before 3.14: no MemAvailable", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n",
			Memory{Total: 1000 << 10, Free: 100 << 10, Available: 350 << 10}, true},
		{"unit-less fields are ignored", "MemTotal: 10 kB\nHugePages_Total: 0\nMemAvailable: 5 kB\n",
			Memory{Total: 10 << 10, Available: 5 << 10}, true},
		{"no MemTotal", "MemFree: 100 kB\n", Memory{}, false},
		{"bad number", "MemTotal: lots kB\n", Memory{}, false},
		{"bad unit", "MemTotal: 10 MB\n", Memory{}, false},
		{"no colon", "MemTotal 10 kB\n", Memory{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMeminfo([]byte(tt.in))
			if !tt.ok {
				requireParseError(t, err, "meminfo")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMemoryUsedPercent(t *testing.T) {
	assert.InDelta(t, 75.0, Memory{Total: 1000, Available: 250}.UsedPercent(), 1e-9)
	assert.InDelta(t, 0.0, Memory{}.UsedPercent(), 1e-9)
	assert.InDelta(t, 0.0, Memory{Total: 10, Available: 20}.UsedPercent(), 1e-9)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want CPUTimes
		cpus int
		ok   bool
	}{
		{"fixture", string(fixture(t, "stat.txt")), CPUTimes{20872, 0, 9465, 2117594, 1443, 0, 87, 691}, 2, true},
		{"aggregate line only", "cpu  1 2 3 4 5 6 7 8 9 10\n", CPUTimes{1, 2, 3, 4, 5, 6, 7, 8}, 0, true},
		{"old kernel, four fields", "cpu 10 0 5 85\n", CPUTimes{User: 10, System: 5, Idle: 85}, 0, true},
		{"no aggregate line", "cpu0 1 2 3 4\nintr 5\n", CPUTimes{}, 0, false},
		{"too few fields", "cpu 1 2 3\n", CPUTimes{}, 0, false},
		{"bad number", "cpu 1 2 x 4\n", CPUTimes{}, 0, false},
		{"bad per-cpu line", "cpu 1 2 3 4\ncpuX 1 2 3 4\n", CPUTimes{}, 0, false},
		{"empty", "", CPUTimes{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := ParseStat([]byte(tt.in))
			if !tt.ok {
				requireParseError(t, err, "stat")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.cpus, n)
		})
	}
}

func TestBusyPercent(t *testing.T) {
	base := CPUTimes{User: 100, System: 100, Idle: 800}
	tests := []struct {
		name string
		cur  CPUTimes
		want float64
	}{
		{"quarter busy", CPUTimes{User: 150, System: 150, Idle: 1100}, 25},
		{"iowait counts as idle", CPUTimes{User: 150, System: 100, Idle: 900, IOWait: 50}, 25},
		{"steal counts as busy", CPUTimes{User: 100, System: 100, Idle: 800, Steal: 100}, 100},
		{"all idle", CPUTimes{User: 100, System: 100, Idle: 1000}, 0},
		{"no time passed", base, 0},
		{"counters went back", CPUTimes{User: 1, Idle: 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.cur.BusyPercent(base), 1e-9)
		})
	}
}

func TestParseDiskstats(t *testing.T) {
	ds, err := ParseDiskstats(fixture(t, "diskstats.txt"))
	require.NoError(t, err)
	require.Len(t, ds, 10)
	assert.Equal(t, "loop0", ds[0].Name)
	assert.Equal(t, DiskStats{
		Name: "vda", ReadsComplete: 59430, ReadSectors: 2222738,
		WritesComplete: 5219, WriteSectors: 1499576, IOTicks: 18356,
	}, ds[8])

	// Kernels before 4.18 print 14 fields.
	ds, err = ParseDiskstats([]byte("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n"))
	require.NoError(t, err)
	assert.Equal(t, []DiskStats{{Name: "sda", ReadsComplete: 1, ReadSectors: 3, WritesComplete: 5, WriteSectors: 7, IOTicks: 10}}, ds)

	ds, err = ParseDiskstats(nil)
	require.NoError(t, err)
	assert.Empty(t, ds)

	for _, bad := range []string{"8 0 sda 1 2 3\n", "8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n"} {
		_, err := ParseDiskstats([]byte(bad))
		requireParseError(t, err, "diskstats")
	}
}

func TestIsWholeDisk(t *testing.T) {
	whole := []string{"sda", "sdab", "vda", "xvda", "hdc", "nvme0n1", "nvme1n12", "mmcblk0"}
	not := []string{"loop0", "ram15", "zram0", "fd0", "sr0", "dm-0", "md127", "nbd3",
		"sda1", "sdab12", "vda2", "xvda1", "hdc3", "nvme0n1p1", "mmcblk0p2"}
	for _, n := range whole {
		assert.True(t, IsWholeDisk(n), n)
	}
	for _, n := range not {
		assert.False(t, IsWholeDisk(n), n)
	}
}

func TestParseDF(t *testing.T) {
	fss, err := ParseDF(fixture(t, "df.txt"))
	require.NoError(t, err)
	require.Len(t, fss, 5)
	assert.Equal(t, Filesystem{Device: "/dev/vda", Mount: "/", Size: 264212084 << 10, Used: 12157476 << 10, Avail: 83343788 << 10}, fss[2])
	assert.Equal(t, "/mnt/sandboxing/model_tools_env/v1/python", fss[3].Mount)

	tests := []struct {
		name string
		in   string
		want []Filesystem
		ok   bool
	}{
		{"mount point with spaces", "Filesystem 1024-blocks Used Available Capacity Mounted on\n" +
			"/dev/sdb1   100  40  60  40% /media/My Disk  2\n",
			[]Filesystem{{Device: "/dev/sdb1", Mount: "/media/My Disk  2", Size: 100 << 10, Used: 40 << 10, Avail: 60 << 10}}, true},
		{"capacity dash", "Filesystem 1024-blocks Used Available Capacity Mounted on\nproc 0 0 0 - /proc\n",
			[]Filesystem{{Device: "proc", Mount: "/proc"}}, true},
		{"device with spaces", "Filesystem 1024-blocks Used Available Capacity Mounted on\nmy share 10 1 9 10% /mnt\n",
			[]Filesystem{{Device: "my share", Mount: "/mnt", Size: 10 << 10, Used: 1 << 10, Avail: 9 << 10}}, true},
		{"header only", "Filesystem 1024-blocks Used Available Capacity Mounted on\n", nil, true},
		{"missing column", "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda 100 40 40% /\n", nil, false},
		{"human sizes", "Filesystem Size Used Avail Use% Mounted on\n/dev/sda 10G 4G 6G 40% /\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDF([]byte(tt.in))
			if !tt.ok {
				requireParseError(t, err, "df")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
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
	st, err := ParseStatus(statusOutput(t, "", nil))
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
			_, err := ParseStatus(statusOutput(t, tt.skip, tt.repl))
			requireParseError(t, err, tt.section)
		})
	}

	// Fields parsed before the error keep their values.
	st, err = ParseStatus(statusOutput(t, "", map[string]string{"df": ""}))
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

func TestFormat(t *testing.T) {
	bytesTests := map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		24684084 << 10: "23.5 GiB", 1 << 50: "1.0 PiB", 1 << 63: "8.0 EiB"}
	for n, want := range bytesTests {
		assert.Equal(t, want, FormatBytes(n), n)
	}
	upTests := map[time.Duration]string{0: "00:00", 59 * time.Second: "00:00", 10756 * time.Second: "02:59",
		3*24*time.Hour + 4*time.Hour + 5*time.Minute + 30*time.Second: "3d 04:05"}
	for d, want := range upTests {
		assert.Equal(t, want, FormatUptime(d), d)
	}
}
