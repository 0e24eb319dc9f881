package procfs

import (
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

// requireParseError checks that err is an *Error for section.
func requireParseError(t *testing.T, err error, section string) {
	t.Helper()
	require.ErrorIs(t, err, ErrParse)
	var pe *Error
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

func TestErrorLineTruncated(t *testing.T) {
	long := strings.Repeat("x", 200)
	_, err := ParseLoadavg([]byte(long))
	requireParseError(t, err, "loadavg")
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, strings.Repeat("x", 120)+"...", pe.Line)
	assert.Equal(t, "metrics: section loadavg: want three load averages: \""+pe.Line+"\"", err.Error())
}
