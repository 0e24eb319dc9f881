package dispatch_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/split"
	"dproc/transport/memtransport"
)

func testReport() *dispatch.Report {
	return &dispatch.Report{
		Run: "0123456789ab", Chunks: 12, Done: 11, Failed: 1, Resumed: 2, BytesIn: 7000, BytesOut: 6500, Elapsed: 1500 * time.Millisecond,
		Busy: 1250 * time.Millisecond, SlotTime: 4 * time.Second, Speculative: 3, Unread: 5, UnreadChunks: []int{4},
		Hosts: []dispatch.HostReport{
			{Host: "n1", Slots: 2, Done: 6, BytesIn: 4000, BytesOut: 4000, Busy: time.Second, SlotTime: 2 * time.Second, Retries: 1,
				Speculative: 2},
			{Host: "n,2", Slots: 4, Done: 3, Failures: 2, Lost: 1, Timeouts: 1, Retries: 2, Stalled: 3, Speculative: 1,
				BytesIn: 3000, BytesOut: 2500, Unread: 5, Busy: 500 * time.Millisecond, SlotTime: 2 * time.Second, Down: true,
				LastErr: errors.New("host lost: \"n,2\"\nreset")},
			{Host: "idle", Slots: 1, Retired: true},
		},
	}
}

func TestReportTotal(t *testing.T) {
	tot := testReport().Total()
	assert.Equal(t, dispatch.HostReport{Host: dispatch.TotalHost, Slots: 7, Done: 9, Failures: 2, Lost: 1, Timeouts: 1,
		Retries: 3, Stalled: 3, Speculative: 3, BytesIn: 7000, BytesOut: 6500, Unread: 5, Busy: 1250 * time.Millisecond,
		SlotTime: 4 * time.Second, Down: true}, tot, "Busy is the run's union, not the hosts' sum; SlotTime is the sum")
	assert.InDelta(t, 5600.0, tot.Throughput(), 1e-9, "input over the run's Busy")
	assert.Equal(t, dispatch.HostReport{Host: dispatch.TotalHost}, (&dispatch.Report{}).Total())
}

// csvHost is one host row of WriteCSV, read back.
type csvHost struct {
	host                    string
	slots, done             int
	bytesIn, bytesOut       int64
	busy, slot, throughput  float64
	failures, lost, retries int
	timeouts, stalled, spec int
	unread                  int64
	down, retired           bool
	lastErr                 string
}

func TestReportWriteCSV(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	require.NoError(t, rep.WriteCSV(&b))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(rep.Hosts)+1)
	assert.Equal(t, []string{"host", "slots", "done", "bytes_in", "bytes_out", "busy_seconds",
		"slot_seconds", "throughput_bytes_per_s", "failures", "lost", "retries", "timeouts", "stalled", "speculative",
		"unread_bytes", "down", "retired", "last_error"}, rows[0])

	want := []csvHost{
		{"n1", 2, 6, 4000, 4000, 1, 2, 4000, 0, 0, 1, 0, 0, 2, 0, false, false, ""},
		{"n,2", 4, 3, 3000, 2500, 0.5, 2, 6000, 2, 1, 2, 1, 3, 1, 5, true, false, "host lost: \"n,2\"\nreset"},
		{"idle", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, true, ""},
		{dispatch.TotalHost, 7, 9, 7000, 6500, 1.25, 4, 5600, 2, 1, 3, 1, 3, 3, 5, true, false, ""},
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		return n
	}
	atoi64 := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err)
		return n
	}
	atof := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		return f
	}
	for i, w := range want {
		row := rows[1+i]
		require.Len(t, row, 18)
		down, err := strconv.ParseBool(row[15])
		require.NoError(t, err)
		retired, err := strconv.ParseBool(row[16])
		require.NoError(t, err)
		got := csvHost{row[0], atoi(row[1]), atoi(row[2]), atoi64(row[3]), atoi64(row[4]), atof(row[5]), atof(row[6]),
			atof(row[7]), atoi(row[8]), atoi(row[9]), atoi(row[10]), atoi(row[11]), atoi(row[12]), atoi(row[13]),
			atoi64(row[14]), down, retired, row[17]}
		assert.Equal(t, w, got)
	}
	assert.Equal(t, "1.000", rows[1][5], "seconds have three decimals")
	assert.Equal(t, "2.000", rows[1][6], "seconds have three decimals")
	assert.Equal(t, "4000.00", rows[1][7], "throughput has two")
}

func TestReportWriteJSON(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	require.NoError(t, rep.WriteJSON(&b))
	assert.Equal(t, byte('\n'), b.Bytes()[b.Len()-1])
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &raw))
	assert.Equal(t, "0123456789ab", raw["run"])
	for k, v := range map[string]float64{"chunks": 12, "done": 11, "failed": 1, "resumed": 2,
		"bytes_in": 7000, "bytes_out": 6500, "elapsed_seconds": 1.5,
		"busy_seconds": 1.25, "slot_seconds": 4, "speculative": 3, "unread_bytes": 5} {
		assert.InDelta(t, v, raw[k], 1e-9, k)
	}
	hosts := raw["hosts"].([]any)
	require.Len(t, hosts, 3)
	n2 := hosts[1].(map[string]any)
	assert.Equal(t, "n,2", n2["host"])
	for k, v := range map[string]float64{"slots": 4, "done": 3, "bytes_in": 3000, "bytes_out": 2500,
		"busy_seconds": 0.5, "slot_seconds": 2, "throughput_bytes_per_s": 6000, "failures": 2, "lost": 1, "retries": 2,
		"timeouts": 1, "stalled": 3, "speculative": 1, "unread_bytes": 5} {
		assert.InDelta(t, v, n2[k], 1e-9, k)
	}
	assert.Equal(t, []any{4.0}, raw["unread_chunks"])
	assert.Equal(t, true, n2["down"])
	assert.Equal(t, false, n2["retired"])
	assert.Equal(t, true, hosts[2].(map[string]any)["retired"])
	assert.Equal(t, "host lost: \"n,2\"\nreset", n2["last_error"])
	assert.NotContains(t, hosts[2].(map[string]any), "last_error", "empty errors are left out")
	total := raw["total"].(map[string]any)
	assert.Equal(t, "(total)", total["host"])
	assert.InDelta(t, 5600.0, total["throughput_bytes_per_s"], 1e-9)
	assert.InDelta(t, 1.25, total["busy_seconds"], 1e-9)
	assert.InDelta(t, 4.0, total["slot_seconds"], 1e-9)
	assert.InDelta(t, 9.0, total["done"], 1e-9)
	assert.InDelta(t, 3.0, total["stalled"], 1e-9)
	assert.InDelta(t, 3.0, total["speculative"], 1e-9)

	b.Reset()
	require.NoError(t, (&dispatch.Report{}).WriteJSON(&b))
	raw = nil
	require.NoError(t, json.Unmarshal(b.Bytes(), &raw))
	assert.Empty(t, raw["hosts"])
	assert.NotNil(t, raw["hosts"], "no hosts is an empty array, not null")
	assert.Equal(t, []any{}, raw["unread_chunks"], "no unread chunks is an empty array, not null")
	assert.Equal(t, "(total)", raw["total"].(map[string]any)["host"])
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestReportWriteErrors(t *testing.T) {
	assert.ErrorContains(t, testReport().WriteCSV(failWriter{}), "disk full")
	assert.ErrorContains(t, testReport().WriteJSON(failWriter{}), "disk full")
}

// TestReportBusyAddsUp runs attempts that are made to overlap (every
// worker waits until all have started, then holds for a while) and checks
// the report's busy times against what that overlap implies: Busy is wall
// time (never above Elapsed) and SlotTime the sum over slots, so SlotTime
// exceeds Busy by at least the held time of every attempt but one.
func TestReportBusyAddsUp(t *testing.T) {
	const hold = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		hosts int
		slots int
	}{
		{"one host, 4 slots", 1, 4},
		{"two hosts, 2 slots each", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.hosts * tc.slots
			mt, hosts := cluster(t, tc.hosts)
			var mu sync.Mutex
			arrived := 0
			release := make(chan struct{})
			mt.Handle("meet", func(ctx context.Context, p *memtransport.Process) int {
				mu.Lock()
				if arrived++; arrived == n {
					close(release)
				}
				mu.Unlock()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
					return p.Fail(1, "not every slot got an attempt")
				case <-ctx.Done():
					return 1
				}
				time.Sleep(hold)
				_, _ = io.Copy(p.Stdout, p.Stdin)
				return 0
			})
			in := lines(n) // 4 lines of 23 bytes: one chunk each
			_, rep, err := run(t, mt, hosts, &dispatch.Options{Slots: tc.slots}, &dispatch.Job{Args: []string{"meet"}},
				split.Blocks(bytes.NewReader(in), int64(len(in)), 23, nil))
			require.NoError(t, err)
			require.Equal(t, n, rep.Chunks)

			var sumSlot, sumBusy, maxBusy time.Duration
			for _, h := range rep.Hosts {
				assert.GreaterOrEqual(t, h.Busy, hold, "%s: Busy covers the hold", h.Host)
				assert.LessOrEqual(t, h.Busy, rep.Elapsed, "%s: Busy is wall time", h.Host)
				assert.GreaterOrEqual(t, h.SlotTime-h.Busy, time.Duration(tc.slots-1)*hold,
					"%s: its slots overlapped for the hold", h.Host)
				assert.LessOrEqual(t, h.SlotTime, time.Duration(h.Slots)*h.Busy, h.Host)
				sumSlot += h.SlotTime
				sumBusy += h.Busy
				maxBusy = max(maxBusy, h.Busy)
			}
			tot := rep.Total()
			assert.Equal(t, rep.Busy, tot.Busy)
			assert.Equal(t, rep.SlotTime, tot.SlotTime)
			assert.Equal(t, sumSlot, rep.SlotTime, "SlotTime is the hosts' sum")
			assert.LessOrEqual(t, rep.Busy, rep.Elapsed, "the total Busy is wall time")
			assert.GreaterOrEqual(t, rep.Busy, maxBusy, "any host busy covers each host's busy")
			assert.LessOrEqual(t, rep.Busy, sumBusy)
			assert.GreaterOrEqual(t, rep.SlotTime-rep.Busy, time.Duration(n-1)*hold)
		})
	}
}
