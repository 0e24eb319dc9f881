package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalNodes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-nodes", "a,b", "-local"}, &stdout, &stderr), stderr.String())
	out := stdout.String()
	for _, want := range []string{"HOST", "KERNEL", "LOAD 1/5/15", "MOUNT", "a ", "b "} {
		assert.Contains(t, out, want)
	}
}

func TestUnknownSSHHostIsARow(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// An ssh_config that names no host: "nosuch.invalid" cannot resolve,
	// which is a row with its error and exit status 1, not a crash.
	cfg := t.TempDir() + "/config"
	require.NoError(t, writeFile(cfg, "Host *\n  StrictHostKeyChecking yes\n  ConnectTimeout 2\n"))
	err := run(context.Background(), []string{"-nodes", "nosuch.invalid", "-ssh-config", cfg, "-timeout", "5s"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 1 nodes")
	assert.Contains(t, stdout.String(), "nosuch.invalid")
}
