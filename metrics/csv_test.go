package metrics_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	assert.True(t, strings.HasPrefix(b.String(), "timestamp,node,cpu,memory,io"), "the time, host and percentages come first")

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
}
