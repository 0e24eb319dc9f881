package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSample(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-top", "3"}, &stdout, &stderr), stderr.String())
	assert.Equal(t, "   20000 divide\n   17500 and\n   15000 conquer\n", stdout.String())
}

func TestInputFile(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.txt")
	require.NoError(t, os.WriteFile(in, []byte("b a\r\nc b\nb\x00a"), 0o644))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-input", in, "-top", "0"}, &stdout, &stderr), stderr.String())
	assert.Equal(t, "       2 a\n       3 b\n       1 c\n", stdout.String())
}
