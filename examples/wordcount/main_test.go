package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

func TestStreamedInputs(t *testing.T) {
	text := []byte(strings.Repeat("b a\r\nc b\nb\x00a\n", 500))
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	require.NoError(t, os.WriteFile(in, text, 0o644))
	var want, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-input", in, "-top", "0"}, &want, &stderr), stderr.String())
	require.Equal(t, "    1000 a\n    1500 b\n     500 c\n", want.String())

	t.Run("stdin", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := runStdin(context.Background(), []string{"-input", "-", "-top", "0"}, bytes.NewReader(text), &stdout, &stderr)
		require.NoError(t, err, stderr.String())
		assert.Equal(t, want.String(), stdout.String())
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "fifo")
		require.NoError(t, syscall.Mkfifo(fifo, 0o600))
		done := make(chan error, 1)
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err == nil {
				_, err = w.Write(text)
				w.Close()
			}
			done <- err
		}()
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-input", fifo, "-top", "0"}, &stdout, &stderr)
		require.NoError(t, <-done)
		require.NoError(t, err, stderr.String())
		assert.Equal(t, want.String(), stdout.String())
	})
}
