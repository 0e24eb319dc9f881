// Package procfs parses the Linux /proc files and the df -kP output that
// package metrics collects from its hosts: /proc/uptime, /proc/loadavg,
// /proc/meminfo, /proc/stat and /proc/diskstats. The parsers are pure
// functions over text that may come from any host, so they accept only
// what they understand: malformed input gives an [*Error] naming its
// section, never a panic.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrParse is matched by every [*Error]. Package metrics re-exports it as
// metrics.ErrParse.
var ErrParse = errors.New("metrics: cannot parse host output")

// Error reports malformed input. It matches [ErrParse] with errors.Is.
// Package metrics exports it as metrics.ParseError (an alias), so its
// message names package metrics, where users meet it.
type Error struct {
	Section string // the section being parsed: "uptime", "loadavg", "meminfo", ...
	Line    string // the offending line, truncated; empty when a whole section is missing
	Msg     string // what is wrong
}

func (e *Error) Error() string {
	s := "metrics: section " + e.Section + ": " + e.Msg
	if e.Line != "" {
		s += fmt.Sprintf(": %q", e.Line)
	}
	return s
}

// Is reports whether target is [ErrParse].
func (e *Error) Is(target error) bool { return target == ErrParse }

// maxLine is the length past which [NewError] truncates the offending
// line.
const maxLine = 120

// NewError returns an [*Error] for section, keeping at most 120 bytes of
// line.
func NewError(section, line, msg string) *Error {
	if len(line) > maxLine {
		line = line[:maxLine] + "..."
	}
	return &Error{Section: section, Line: line, Msg: msg}
}

func parseErr(section, line, msg string) error { return NewError(section, line, msg) }

// lines calls fn for each non-empty line of b, trimmed of surrounding space,
// and stops at the first error.
func lines(b []byte, fn func(line string) error) error {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// ParseUptime parses the text of /proc/uptime ("12345.67 23456.78"): the
// time since boot.
func ParseUptime(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, parseErr("uptime", "", "empty")
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil || secs < 0 {
		return 0, parseErr("uptime", strings.TrimSpace(string(b)), "want seconds since boot")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// Load holds the load averages of /proc/loadavg.
type Load struct {
	Load1, Load5, Load15 float64
}

// ParseLoadavg parses the text of /proc/loadavg ("0.52 0.58 0.59 1/234
// 5678"): the 1, 5 and 15 minute load averages.
func ParseLoadavg(b []byte) (Load, error) {
	line := strings.TrimSpace(string(b))
	f := strings.Fields(line)
	if len(f) < 3 {
		return Load{}, parseErr("loadavg", line, "want three load averages")
	}
	var v [3]float64
	for i := range v {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil || x < 0 {
			return Load{}, parseErr("loadavg", line, "bad load average "+strconv.Quote(f[i]))
		}
		v[i] = x
	}
	return Load{v[0], v[1], v[2]}, nil
}

// Memory holds the fields of /proc/meminfo that this package uses, in
// bytes.
type Memory struct {
	Total     uint64
	Free      uint64
	Available uint64 // MemAvailable, or MemFree+Buffers+Cached on kernels before 3.14
	SwapTotal uint64
	SwapFree  uint64
}

// UsedPercent returns the share of memory in use, (Total-Available)/Total
// as a percentage, or 0 when Total is 0.
func (m Memory) UsedPercent() float64 {
	if m.Total == 0 || m.Available >= m.Total {
		return 0
	}
	return float64(m.Total-m.Available) / float64(m.Total) * 100
}

// ParseMeminfo parses the text of /proc/meminfo. Values in kB are turned
// into bytes. MemTotal is required; when MemAvailable is missing (kernels
// before 3.14) Available is estimated as MemFree+Buffers+Cached.
func ParseMeminfo(b []byte) (Memory, error) {
	var m Memory
	var buffers, cached uint64
	var haveTotal, haveAvail bool
	err := lines(b, func(line string) error {
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			return parseErr("meminfo", line, "want \"Key: value\"")
		}
		var dst *uint64
		switch key {
		case "MemTotal":
			dst, haveTotal = &m.Total, true
		case "MemFree":
			dst = &m.Free
		case "MemAvailable":
			dst, haveAvail = &m.Available, true
		case "Buffers":
			dst = &buffers
		case "Cached":
			dst = &cached
		case "SwapTotal":
			dst = &m.SwapTotal
		case "SwapFree":
			dst = &m.SwapFree
		default:
			return nil
		}
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 2 || len(f) == 2 && f[1] != "kB" {
			return parseErr("meminfo", line, "want a number of kB")
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return parseErr("meminfo", line, "want a number of kB")
		}
		if len(f) == 2 {
			v *= 1024
		}
		*dst = v
		return nil
	})
	if err != nil {
		return Memory{}, err
	}
	if !haveTotal {
		return Memory{}, parseErr("meminfo", "", "no MemTotal line")
	}
	if !haveAvail {
		m.Available = min(m.Free+buffers+cached, m.Total)
	}
	return m, nil
}

// CPUTimes holds the aggregate "cpu" line of /proc/stat, in clock ticks.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// Total returns the sum of all the times. Guest time is already counted in
// User and Nice, so it is not added again.
func (c CPUTimes) Total() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// IdleTotal returns the time the CPUs did nothing: Idle plus IOWait.
func (c CPUTimes) IdleTotal() uint64 { return c.Idle + c.IOWait }

// BusyPercent returns the share of time the CPUs were busy between prev and
// c, as a percentage: 100 * (1 - Δidle/Δtotal). It returns 0 when no time
// passed or the counters went backwards (the host rebooted).
func (c CPUTimes) BusyPercent(prev CPUTimes) float64 {
	t, pt := c.Total(), prev.Total()
	i, pi := c.IdleTotal(), prev.IdleTotal()
	if t <= pt || i < pi {
		return 0
	}
	dt, di := t-pt, i-pi
	if di > dt {
		return 0
	}
	return float64(dt-di) / float64(dt) * 100
}

// ParseStat parses the text of /proc/stat (or just its "cpu " line) and
// returns the aggregate CPU times and the number of "cpuN" lines (0 when
// only the aggregate line is given). Lines other than cpu lines are ignored.
func ParseStat(b []byte) (CPUTimes, int, error) {
	var c CPUTimes
	var have bool
	n := 0
	err := lines(b, func(line string) error {
		if !strings.HasPrefix(line, "cpu") {
			return nil
		}
		name, rest, _ := strings.Cut(line, " ")
		if name != "cpu" {
			if _, err := strconv.Atoi(name[3:]); err != nil {
				return parseErr("stat", line, "bad cpu line")
			}
			n++
			return nil
		}
		f := strings.Fields(rest)
		if len(f) < 4 {
			return parseErr("stat", line, "want at least 4 cpu times")
		}
		var v [8]uint64
		for i := 0; i < len(v) && i < len(f); i++ {
			x, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return parseErr("stat", line, "bad cpu time "+strconv.Quote(f[i]))
			}
			v[i] = x
		}
		c = CPUTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
		have = true
		return nil
	})
	if err != nil {
		return CPUTimes{}, 0, err
	}
	if !have {
		return CPUTimes{}, 0, parseErr("stat", "", "no aggregate \"cpu\" line")
	}
	return c, n, nil
}

// DiskStats holds the counters of one line of /proc/diskstats.
type DiskStats struct {
	Name           string
	ReadSectors    uint64 // sectors read; a sector here is always 512 bytes
	WriteSectors   uint64 // sectors written
	IOTicks        uint64 // milliseconds spent doing I/O
	ReadsComplete  uint64
	WritesComplete uint64
}

// SectorSize is the unit of the sector counts of /proc/diskstats, whatever
// the device's real sector size.
const SectorSize = 512

// ParseDiskstats parses the text of /proc/diskstats and returns every
// device, in order. Use [IsWholeDisk] to pick the physical disks.
func ParseDiskstats(b []byte) ([]DiskStats, error) {
	var ds []DiskStats
	err := lines(b, func(line string) error {
		f := strings.Fields(line)
		if len(f) < 14 {
			return parseErr("diskstats", line, "want at least 14 fields")
		}
		var v [11]uint64
		for i := range v {
			x, err := strconv.ParseUint(f[3+i], 10, 64)
			if err != nil {
				return parseErr("diskstats", line, "bad counter "+strconv.Quote(f[3+i]))
			}
			v[i] = x
		}
		ds = append(ds, DiskStats{
			Name:           f[2],
			ReadsComplete:  v[0],
			ReadSectors:    v[2],
			WritesComplete: v[4],
			WriteSectors:   v[6],
			IOTicks:        v[9],
		})
		return nil
	})
	return ds, err
}

var (
	// Devices that are not disks, or that sit on top of other disks
	// whose I/O is already counted.
	virtualDisk = regexp.MustCompile(`^(loop|ram|zram|fd|sr|dm-|md|nbd)[0-9]`)
	// Partitions: sda1, vdb2, xvda1, hdc3; nvme0n1p1, mmcblk0p2.
	partition = regexp.MustCompile(`^((s|h|v|xv)d[a-z]+[0-9]+|(nvme[0-9]+n[0-9]+|mmcblk[0-9]+)p[0-9]+)$`)
)

// IsWholeDisk reports whether the /proc/diskstats device name is a physical
// disk, whose I/O a sampler should count. It rejects loop, ram, zram, floppy
// (fd), optical (sr) and network block (nbd) devices, the device-mapper
// (dm-N) and software RAID (mdN) devices that sit on top of other disks
// (counting them would count the same I/O twice), and partitions (sda1,
// vdb2, xvda1, nvme0n1p1, mmcblk0p2), whose I/O their disk already counts.
func IsWholeDisk(name string) bool {
	return !virtualDisk.MatchString(name) && !partition.MatchString(name)
}

// Filesystem is one mounted filesystem as df -kP reports it. Sizes are in
// bytes.
type Filesystem struct {
	Device string
	Mount  string
	Size   uint64
	Used   uint64
	Avail  uint64
}

// dfLine matches one data line of df -P: device, 1024-blocks, used,
// available, capacity ("13%" or "-") and the mount point, which may hold
// spaces.
var dfLine = regexp.MustCompile(`^(.+?)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+)\s+([0-9]+%|-)\s+(/.*)$`)

// ParseDF parses the output of df -kP: a header line, then one line per
// filesystem with sizes in 1024-byte blocks. Mount points may contain
// spaces.
func ParseDF(b []byte) ([]Filesystem, error) {
	var fss []Filesystem
	first := true
	err := lines(b, func(line string) error {
		if first {
			first = false
			if strings.HasPrefix(line, "Filesystem") {
				return nil
			}
		}
		m := dfLine.FindStringSubmatch(line)
		if m == nil {
			return parseErr("df", line, "want device, size, used, available, capacity and mount point")
		}
		var v [3]uint64
		for i := range v {
			x, err := strconv.ParseUint(m[2+i], 10, 64)
			if err != nil {
				return parseErr("df", line, "bad size")
			}
			v[i] = x * 1024
		}
		fss = append(fss, Filesystem{Device: m[1], Mount: m[6], Size: v[0], Used: v[1], Avail: v[2]})
		return nil
	})
	return fss, err
}
