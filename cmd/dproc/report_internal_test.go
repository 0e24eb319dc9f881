package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
)

// The run report writes sizes as the status table does ("1.5 KiB").
func TestWriteReportSizes(t *testing.T) {
	assert.Equal(t, "0 B", bytesText(-1), "a negative count is shown as nothing")
	assert.Equal(t, "1.5 KiB", bytesText(1536))
	var b bytes.Buffer
	writeReport(&b, &dispatch.Report{Chunks: 1, Done: 1, Hosts: []dispatch.HostReport{{Host: "n1", Slots: 1, Done: 1, BytesIn: 1536, BytesOut: 3 << 20}}})
	assert.Contains(t, b.String(), "1.5 KiB")
	assert.Contains(t, b.String(), "3.0 MiB")
}

// The report adds up: each count column of the total row is the hosts'
// sum, its busy is the run's wall time with any host busy (Report.Busy),
// neither the hosts' sum nor Elapsed, and stalls, speculative copies and
// retired hosts are shown.
func TestWriteReportAddsUp(t *testing.T) {
	rep := &dispatch.Report{
		Chunks: 10, Done: 10, Elapsed: 5 * time.Second, Busy: 3 * time.Second, SlotTime: 9 * time.Second, Speculative: 2,
		Hosts: []dispatch.HostReport{
			{Host: "n1", Slots: 2, Done: 6, Retries: 1, Speculative: 2, Busy: 3 * time.Second, SlotTime: 6 * time.Second},
			{Host: "n2", Slots: 2, Done: 1, Lost: 1, Stalled: 3, Busy: 2 * time.Second, SlotTime: 2 * time.Second, Retired: true},
			{Host: "n3", Slots: 1, Done: 3, Failures: 1, Busy: time.Second, SlotTime: time.Second},
		},
	}
	var b bytes.Buffer
	writeReport(&b, rep)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 7, b.String())
	tests := []struct {
		line   int
		fields []string
	}{
		{0, []string{"host", "slots", "done", "failed", "lost", "retries", "stalled", "spec", "in", "out", "busy", "slot-time"}},
		{1, []string{"n1", "2", "6", "0", "0", "1", "0", "2", "0", "B", "0", "B", "3s", "6s"}},
		{2, []string{"n2", "(retired)", "2", "1", "0", "1", "0", "3", "0", "0", "B", "0", "B", "2s", "2s"}},
		{3, []string{"n3", "1", "3", "1", "0", "0", "0", "0", "0", "B", "0", "B", "1s", "1s"}},
		{4, []string{dispatch.TotalHost, "5", "10", "1", "1", "1", "3", "2", "0", "B", "0", "B", "3s", "9s"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.fields, strings.Fields(lines[tt.line]), "line %d", tt.line)
	}
	assert.Equal(t, "10 of 10 done (0 resumed), 0 failed, in 5s", lines[5])
	assert.Equal(t, "speculative launches: 2, stalled attempts: 3", lines[6])
}
