package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
