package metrics_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/metrics"
)

func TestCSVWriter(t *testing.T) {
	var b bytes.Buffer
	w := metrics.NewCSVWriter(&b)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	require.NoError(t, w.Write(metrics.Sample{Time: at, Host: "n1", CPU: 12.345, Memory: 50, IO: 0.004, ReadBps: 1e6, WriteBps: 2.5}))
	require.NoError(t, w.Write(metrics.Sample{Time: at, Host: "n2", Err: errors.New("lost")}))
	require.NoError(t, w.Write(metrics.Sample{Time: at.Add(time.Second), Host: `odd "name", here`, CPU: 100}))
	require.NoError(t, w.Flush())
	want := "timestamp,node,cpu,memory,io,read_bytes_per_s,write_bytes_per_s\n" +
		"2026-03-04T05:06:07+01:00,n1,12.35,50.00,0.00,1000000.00,2.50\n" +
		"2026-03-04T05:06:08+01:00,\"odd \"\"name\"\", here\",100.00,0.00,0.00,0.00,0.00\n"
	assert.Equal(t, want, b.String())
	assert.True(t, strings.HasPrefix(b.String(), "timestamp,node,cpu,memory,io"), "the seed's columns come first")

	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, metrics.CSVHeader, rows[0])
	assert.Equal(t, `odd "name", here`, rows[2][1])
	ts, err := time.Parse(time.RFC3339, rows[1][0])
	require.NoError(t, err)
	assert.True(t, ts.Equal(at))
}

func TestCSVWriterEmpty(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, metrics.NewCSVWriter(&b).Flush())
	assert.Equal(t, "timestamp,node,cpu,memory,io,read_bytes_per_s,write_bytes_per_s\n", b.String())

	b.Reset()
	w := metrics.NewCSVWriter(&b)
	require.NoError(t, w.Write(metrics.Sample{Host: "x", Err: errors.New("gap")}))
	require.NoError(t, w.Flush())
	assert.Equal(t, "timestamp,node,cpu,memory,io,read_bytes_per_s,write_bytes_per_s\n", b.String(), "a gap has no row")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCSVWriterError(t *testing.T) {
	w := metrics.NewCSVWriter(failWriter{})
	assert.ErrorContains(t, w.Write(metrics.Sample{Host: "a"}), "disk full")
	assert.ErrorContains(t, metrics.WriteReportCSV(failWriter{}, testReport()), "disk full")
	assert.ErrorContains(t, metrics.WriteReportJSON(failWriter{}, testReport()), "disk full")
}

func testReport() *dispatch.Report {
	return &dispatch.Report{
		Chunks: 12, Done: 11, Failed: 1, Resumed: 2, BytesIn: 7000, BytesOut: 6500, Elapsed: 1500 * time.Millisecond,
		Hosts: []dispatch.HostReport{
			{Host: "n1", Slots: 2, Tasks: 6, BytesIn: 4000, BytesOut: 4000, Busy: 2 * time.Second, Retries: 1},
			{Host: "n,2", Slots: 4, Tasks: 3, Failures: 2, Lost: 1, Retries: 2, BytesIn: 3000, BytesOut: 2500,
				Busy: 500 * time.Millisecond, Down: true, LastErr: errors.New("host lost: \"n,2\"\nreset")},
			{Host: "idle", Slots: 1},
		},
	}
}

func TestNewRunStats(t *testing.T) {
	rs := metrics.NewRunStats(testReport())
	assert.Equal(t, metrics.RunStats{
		Chunks: 12, Done: 11, Failed: 1, Resumed: 2, BytesIn: 7000, BytesOut: 6500, ElapsedSeconds: 1.5,
		Hosts: []metrics.HostStats{
			{Host: "n1", Slots: 2, Chunks: 6, BytesIn: 4000, BytesOut: 4000, BusySeconds: 2, Throughput: 2000, Retries: 1},
			{Host: "n,2", Slots: 4, Chunks: 3, BytesIn: 3000, BytesOut: 2500, BusySeconds: 0.5, Throughput: 6000,
				Failures: 2, Lost: 1, Retries: 2, Down: true, LastError: "host lost: \"n,2\"\nreset"},
			{Host: "idle", Slots: 1},
		},
		Total: metrics.HostStats{Host: metrics.TotalHost, Slots: 7, Chunks: 9, BytesIn: 7000, BytesOut: 6500,
			BusySeconds: 2.5, Throughput: 2800, Failures: 2, Lost: 1, Retries: 3, Down: true},
	}, rs)
}

func TestWriteReportCSV(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	require.NoError(t, metrics.WriteReportCSV(&b, rep))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(rep.Hosts)+1)
	assert.Equal(t, metrics.ReportCSVHeader, rows[0])

	// Read the rows back and compare with the report.
	rs := metrics.NewRunStats(rep)
	for i, want := range append(rs.Hosts, rs.Total) {
		row := rows[1+i]
		require.Len(t, row, len(metrics.ReportCSVHeader))
		got := metrics.HostStats{Host: row[0], LastError: row[11]}
		var err error
		ints := []*int{&got.Slots, &got.Chunks, nil, nil, nil, nil, &got.Failures, &got.Lost, &got.Retries}
		for j, p := range ints {
			if p != nil {
				*p, err = strconv.Atoi(row[1+j])
				require.NoError(t, err)
			}
		}
		got.BytesIn, err = strconv.ParseInt(row[3], 10, 64)
		require.NoError(t, err)
		got.BytesOut, err = strconv.ParseInt(row[4], 10, 64)
		require.NoError(t, err)
		got.BusySeconds, err = strconv.ParseFloat(row[5], 64)
		require.NoError(t, err)
		got.Throughput, err = strconv.ParseFloat(row[6], 64)
		require.NoError(t, err)
		got.Down, err = strconv.ParseBool(row[10])
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	assert.Equal(t, metrics.TotalHost, rows[len(rows)-1][0])
}

func TestWriteReportJSON(t *testing.T) {
	rep := testReport()
	var b bytes.Buffer
	require.NoError(t, metrics.WriteReportJSON(&b, rep))
	var got metrics.RunStats
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got))
	assert.Equal(t, metrics.NewRunStats(rep), got)

	var raw map[string]any
	b.Reset()
	require.NoError(t, metrics.WriteReportJSON(&b, rep))
	require.NoError(t, json.Unmarshal(b.Bytes(), &raw))
	total := raw["total"].(map[string]any)
	assert.Equal(t, "(total)", total["host"])
	assert.InDelta(t, 2800.0, total["throughput_bytes_per_s"], 1e-9)
	hosts := raw["hosts"].([]any)
	require.Len(t, hosts, 3)
	assert.NotContains(t, hosts[2].(map[string]any), "last_error", "empty errors are left out")

	b.Reset()
	require.NoError(t, metrics.WriteReportJSON(&b, &dispatch.Report{}))
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	assert.Empty(t, got.Hosts)
	assert.Equal(t, metrics.TotalHost, got.Total.Host)
}
