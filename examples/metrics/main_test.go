package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/metrics"
	"dproc/metrics/metricstest"
	"dproc/transport/memtransport"
)

func TestLocalNodesToCSV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "metrics.csv")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-interval", "100ms", "-count", "2", "-out", out}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, rows, 1+3*2, "a header and two samples per node")
	assert.True(t, strings.HasPrefix(rows[0], "timestamp,node,cpu,memory,io"))
	for _, r := range rows[1:] {
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d),node[123],\d+\.\d\d,\d+\.\d\d,\d+\.\d\d,`, r)
	}
}

func TestBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Error(t, run(context.Background(), []string{"-count", "-1"}, &stdout, &stderr))
	assert.Error(t, run(context.Background(), []string{"-interval", "0s"}, &stdout, &stderr))
}

// TestHostDown samples three hosts of which one is down (or two, or one
// that drops out for good after a sample): the run ends after -count
// attempts, the CSV holds the good hosts' samples, each down host gets one
// line on stderr, and the error says how many were down.
func TestHostDown(t *testing.T) {
	tests := []struct {
		name     string
		down     []string
		dropout  string // a host that gives one sample and then goes down
		wantRows int    // CSV rows besides the header
		wantErr  string
	}{
		{"one down", []string{"node3"}, "", 2 * 2, "1 of 3 nodes down"},
		{"two down", []string{"node1", "node3"}, "", 2, "2 of 3 nodes down"},
		{"drops out", nil, "node2", 2*2 + 1, "1 of 3 nodes down"},
		{"none down", nil, "", 3 * 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := memtransport.New(nil)
			defer tr.Close()
			hosts := []string{"node1", "node2", "node3"}
			for _, h := range hosts {
				tr.AddHost(h)
			}
			tr.Handle(metrics.SamplerScript, func(ctx context.Context, p *memtransport.Process) int {
				for i := 0; ctx.Err() == nil; i++ {
					if _, err := io.WriteString(p.Stdout, metricstest.Frame(i)); err != nil {
						return 1
					}
					if p.Host == tt.dropout && i == 1 {
						p.Control().Kill()
						<-ctx.Done()
					}
				}
				return 0
			})
			for _, h := range tt.down {
				tr.Host(h).SetDown(true)
			}
			out := filepath.Join(t.TempDir(), "m.csv")
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := &metrics.SamplerOptions{Interval: time.Millisecond, Count: 2, Backoff: time.Millisecond}
			err := sample(ctx, tr, hosts, opts, out, &stdout, &stderr)
			require.NoError(t, ctx.Err(), "the run did not end")
			data, rerr := os.ReadFile(out)
			require.NoError(t, rerr)
			rows := strings.Split(strings.TrimSpace(string(data)), "\n")
			assert.Len(t, rows, 1+tt.wantRows, "%s", data)
			assert.Contains(t, stdout.String(), "wrote "+out)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Empty(t, stderr.String())
				return
			}
			require.EqualError(t, err, tt.wantErr)
			assert.ErrorIs(t, err, metrics.ErrHostDown)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			var downLines []string
			for _, l := range lines {
				if strings.Contains(l, " down (") {
					downLines = append(downLines, l)
				}
			}
			wantDown := append([]string(nil), tt.down...)
			if tt.dropout != "" {
				wantDown = append(wantDown, tt.dropout)
				assert.Contains(t, stderr.String(), "metrics: gap on "+tt.dropout+": ", "a dropout is reported when it happens")
			}
			require.Len(t, downLines, len(wantDown), "one line per down host:\n%s", stderr.String())
			for i, h := range wantDown {
				assert.True(t, strings.HasPrefix(downLines[i], `metrics: host "`+h+`" down (`), downLines[i])
				assert.Equal(t, 1, strings.Count(downLines[i], `"`+h+`"`), "the host is named once: %s", downLines[i])
			}
			assert.Len(t, lines, len(wantDown)+boolInt(tt.dropout != ""), "no line per failed attempt:\n%s", stderr.String())
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestInterrupted checks that an interrupted run (-count 0) reports the
// interruption, so that the program does not exit 0, and keeps what was
// sampled.
func TestInterrupted(t *testing.T) {
	tr := memtransport.New(nil)
	defer tr.Close()
	tr.AddHost("node1")
	metricstest.Install(tr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	out := filepath.Join(t.TempDir(), "m.csv")
	var stdout, stderr bytes.Buffer
	err := sample(ctx, tr, []string{"node1"}, &metrics.SamplerOptions{Interval: 5 * time.Millisecond}, out, &stdout, &stderr)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, stdout.String(), "wrote "+out)
	data, rerr := os.ReadFile(out)
	require.NoError(t, rerr)
	assert.Greater(t, strings.Count(string(data), "\n"), 1, "the header and the samples taken")
}
