package metrics

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"dproc/metrics/internal/procfs"
	"dproc/nodeops"
	"dproc/transport"
)

// StatusScript is the POSIX sh script [Status] runs on each host, as the
// Shell of a [transport.Command]. It prints, each after a "##dproc NAME"
// marker line: hostname (uname -n), kernel (uname -sr), uptime
// (/proc/uptime), loadavg (/proc/loadavg), cpus (nproc, or getconf
// _NPROCESSORS_ONLN), meminfo (/proc/meminfo) and df (df -kP), then an
// "end" marker. It always exits 0; a section whose command failed is
// caught by the parser. Fakes register a handler under this exact string.
const StatusScript = `echo '##dproc hostname'; uname -n
echo '##dproc kernel'; uname -sr
echo '##dproc uptime'; cat /proc/uptime
echo '##dproc loadavg'; cat /proc/loadavg
echo '##dproc cpus'; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN
echo '##dproc meminfo'; cat /proc/meminfo
echo '##dproc df'; df -kP 2>/dev/null
echo '##dproc end'
exit 0`

// maxStatusOutput bounds the output of [StatusScript] kept per host.
const maxStatusOutput = 4 << 20

// HostStatus is the state of one host as [Status] found it. Sizes are in
// bytes.
type HostStatus struct {
	Host     string        // the host name given to Status
	Hostname string        // the name the host gives itself (uname -n)
	Kernel   string        // operating system and kernel release (uname -sr)
	Uptime   time.Duration // time since boot
	Load1    float64       // load averages over 1, 5 and 15 minutes
	Load5    float64
	Load15   float64
	CPUs     int // online processors available to the shell

	MemTotal     uint64
	MemAvailable uint64 // MemAvailable, or MemFree+Buffers+Cached on kernels before 3.14
	SwapTotal    uint64
	SwapFree     uint64

	Filesystems []Filesystem // every filesystem df -kP lists, in its order

	// Err is why the host's status is missing or incomplete: the
	// transport's error when the host could not run the script (for an
	// unreachable host, errors.Is(Err, transport.ErrLost) holds), or a
	// [*ParseError] when its output was malformed, or an error matching
	// [ErrInvalid] when Status was given a nil Transport. Fields parsed
	// before a parse error keep their values.
	Err error
}

// Filesystem is one mounted filesystem of a [HostStatus], as df -kP
// reports it. Sizes are in bytes.
type Filesystem struct {
	Device string // the device or source, as df prints it (may hold spaces)
	Mount  string // the mount point (may hold spaces)
	Size   uint64
	Used   uint64
	Avail  uint64 // space available to unprivileged users
}

// StatusOptions configures [Status]. A nil *StatusOptions means all
// defaults.
type StatusOptions struct {
	// Timeout bounds the round trip to each host; a host that takes
	// longer gets a row whose Err matches context.DeadlineExceeded.
	// Zero means no limit other than ctx.
	Timeout time.Duration

	// Parallel is how many hosts are queried at once. Zero means all of
	// them.
	Parallel int
}

// Status queries every host in parallel, with one round trip each (it runs
// [StatusScript]), and returns one HostStatus per host, in the order of
// hosts. A host that cannot be reached, or whose output cannot be parsed,
// gets a row with Err set; Status itself does not fail. If ctx ends, the
// hosts not yet done get rows whose Err matches ctx.Err().
//
// A nil t is reported the same way, as a row per host whose Err matches
// [ErrInvalid], rather than as a second error result: every caller already
// looks at each row's Err to tell a healthy host from one that could not be
// checked, and that check catches a nil t too, while one call keeps giving
// exactly one row per host.
func Status(ctx context.Context, t transport.Transport, hosts []string, opts *StatusOptions) []HostStatus {
	if t == nil {
		out := make([]HostStatus, len(hosts))
		for i, h := range hosts {
			out[i] = HostStatus{Host: h, Err: invalid("Status with a nil Transport")}
		}
		return out
	}
	var o StatusOptions
	if opts != nil {
		o = *opts
	}
	res := nodeops.Each(ctx, hosts, o.Parallel, func(ctx context.Context, h string) (HostStatus, error) {
		st := hostStatus(ctx, t, h, o.Timeout)
		return st, st.Err
	})
	out := make([]HostStatus, len(hosts))
	for i, r := range res {
		out[i] = r.Value
		out[i].Host, out[i].Err = r.Host, r.Err
	}
	return out
}

func hostStatus(ctx context.Context, t transport.Transport, host string, timeout time.Duration) HostStatus {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout limitedBuffer
	stdout.max = maxStatusOutput
	err := t.Run(ctx, host, &transport.Command{Shell: StatusScript, Stdout: &stdout})
	if err != nil {
		return HostStatus{Host: host, Err: err}
	}
	if stdout.over {
		return HostStatus{Host: host, Err: parseErr("end", "", fmt.Sprintf("output longer than %d bytes", maxStatusOutput))}
	}
	st, err := parseStatus(stdout.Bytes())
	st.Host, st.Err = host, err
	return st
}

// parseStatus parses the output of [StatusScript]. It fills in every field
// but Host and Err, and returns a [*ParseError] naming the first section
// that is missing or malformed; the fields parsed before it keep their
// values.
func parseStatus(out []byte) (HostStatus, error) {
	st, err := parseSections(out)
	return st, err
}

func parseSections(out []byte) (HostStatus, error) {
	var st HostStatus
	sec := sections(out)
	get := func(name string) ([]byte, error) {
		b, ok := sec[name]
		if !ok {
			return nil, parseErr(name, "", "section missing (output truncated, or not from StatusScript)")
		}
		return b, nil
	}
	one := func(name string) (string, error) {
		b, err := get(name)
		if err != nil {
			return "", err
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", parseErr(name, "", "empty")
		}
		return s, nil
	}
	if _, err := get("end"); err != nil {
		return st, err
	}
	var err error
	if st.Hostname, err = one("hostname"); err != nil {
		return st, err
	}
	if st.Kernel, err = one("kernel"); err != nil {
		return st, err
	}
	b, err := get("uptime")
	if err != nil {
		return st, err
	}
	if st.Uptime, err = procfs.ParseUptime(b); err != nil {
		return st, err
	}
	if b, err = get("loadavg"); err != nil {
		return st, err
	}
	l, err := procfs.ParseLoadavg(b)
	if err != nil {
		return st, err
	}
	st.Load1, st.Load5, st.Load15 = l.Load1, l.Load5, l.Load15
	s, err := one("cpus")
	if err != nil {
		return st, err
	}
	if st.CPUs, err = strconv.Atoi(s); err != nil || st.CPUs < 1 {
		return st, parseErr("cpus", s, "want a positive number of processors")
	}
	if b, err = get("meminfo"); err != nil {
		return st, err
	}
	m, err := procfs.ParseMeminfo(b)
	if err != nil {
		return st, err
	}
	st.MemTotal, st.MemAvailable, st.SwapTotal, st.SwapFree = m.Total, m.Available, m.SwapTotal, m.SwapFree
	if b, err = get("df"); err != nil {
		return st, err
	}
	fss, err := procfs.ParseDF(b)
	for _, f := range fss {
		st.Filesystems = append(st.Filesystems, Filesystem(f))
	}
	if err != nil {
		return st, err
	}
	if len(st.Filesystems) == 0 {
		return st, parseErr("df", "", "no filesystems (is df installed?)")
	}
	return st, nil
}

// limitedBuffer is a bytes.Buffer that keeps at most max bytes and
// records whether more were written.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.Len(); len(p) > room {
		p, b.over = p[:max(room, 0)], true
	}
	b.Buffer.Write(p)
	return n, nil
}
