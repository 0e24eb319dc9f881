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

func TestLocalNodes(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub dir"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub dir", "a.txt"), []byte("hello"), 0o644))
	root := t.TempDir()
	args := []string{"-nodes", "a,b", "-local", "-root", root, src, "shared"}

	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 3, stdout.String())
	assert.Equal(t, []string{"HOST", "SENT", "BYTES"}, strings.Fields(lines[0])[:3])
	assert.Equal(t, []string{"a", "1", "5", "0", "1"}, strings.Fields(lines[1])[:5])
	assert.Equal(t, []string{"b", "1", "5", "0", "1"}, strings.Fields(lines[2])[:5])
	for _, h := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(root, h, "shared", "sub dir", "a.txt"))
		require.NoError(t, err)
		assert.Equal(t, "hello", string(b))
	}

	// Again, with -delete after removing the file: one deletion, nothing sent.
	require.NoError(t, os.Remove(filepath.Join(src, "sub dir", "a.txt")))
	stdout.Reset()
	args = []string{"-nodes", "a,b", "-local", "-root", root, "-delete", "-checksum", src, "shared"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	lines = strings.Split(strings.TrimSpace(stdout.String()), "\n")
	assert.Equal(t, []string{"a", "0", "0", "1"}, strings.Fields(lines[1])[:4])
	assert.NoFileExists(t, filepath.Join(root, "a", "shared", "sub dir", "a.txt"))
}

func TestDefaultNodes(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{src, "dst"}, &stdout, &stderr), stderr.String())
	for _, h := range []string{"node1", "node2", "node3"} {
		assert.Contains(t, stdout.String(), h)
	}
}

func TestErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Error(t, run(context.Background(), []string{"only-one"}, &stdout, &stderr))
	err := run(context.Background(), []string{filepath.Join(t.TempDir(), "missing"), "dst"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 of 3 nodes")
	assert.Contains(t, stdout.String(), "no such file")
}
