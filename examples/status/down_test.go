package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/metrics/metricstest"
	"dproc/transport"
	"dproc/transport/memtransport"
)

// TestHostDown checks hosts of which some are down or fail: the error
// counts them and matches their causes, and stderr has one line per such
// host naming it once.
func TestHostDown(t *testing.T) {
	tests := []struct {
		name    string
		down    []string
		wantErr string
	}{
		{"one down", []string{"node2"}, "1 of 3 nodes could not be checked"},
		{"two down", []string{"node1", "node3"}, "2 of 3 nodes could not be checked"},
		{"none down", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := memtransport.New(nil)
			defer tr.Close()
			hosts := []string{"node1", "node2", "node3"}
			for _, h := range hosts {
				tr.AddHost(h)
			}
			metricstest.Install(tr)
			for _, h := range tt.down {
				tr.Host(h).SetDown(true)
			}
			var stdout, stderr bytes.Buffer
			err := check(context.Background(), tr, hosts, 5*time.Second, &stdout, &stderr)
			for _, h := range hosts {
				assert.Contains(t, stdout.String(), h, "every host has a row")
			}
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Empty(t, stderr.String())
				return
			}
			require.EqualError(t, err, tt.wantErr)
			assert.True(t, transport.IsLost(err), "the causes are wrapped: %v", err)
			assert.ErrorIs(t, err, memtransport.ErrDown)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			require.Len(t, lines, len(tt.down), stderr.String())
			for i, h := range tt.down {
				assert.True(t, strings.HasPrefix(lines[i], `status: host "`+h+`": `), lines[i])
				assert.Equal(t, 1, strings.Count(lines[i], h), "the host is named once: %s", lines[i])
			}
		})
	}
}
