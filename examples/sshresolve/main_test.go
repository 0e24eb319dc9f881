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

	"dproc/internal/cli"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

const testConfig = `Host web
  HostName Web.Example.com
  User alice
  Port 2222
  IdentityFile /keys/%r
  UserKnownHostsFile /kh/known
  GlobalKnownHostsFile none
  ConnectTimeout 10
  ServerAliveInterval 5
  ServerAliveCountMax 2
  ProxyJump gw
Host gw
  User ops
  IdentityFile /keys/gw
  UserKnownHostsFile /kh/known
  GlobalKnownHostsFile none
  ConnectTimeout 10
  ServerAliveInterval 5
  ServerAliveCountMax 2
Host pc
  ProxyCommand nc %h %p
`

func writeConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(p, []byte(testConfig), 0o600))
	return p
}

func TestRun(t *testing.T) {
	cfg := writeConfig(t)
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-ssh-config", cfg, "web", "bob@gw:2200"}, &stdout, &stderr))
	assert.Empty(t, stderr.String())
	want := `host web
user alice
hostname web.example.com
port 2222
hashknownhosts no
identitiesonly no
stricthostkeychecking true
serveralivecountmax 2
serveraliveinterval 5
identityfile /keys/alice
globalknownhostsfile none
userknownhostsfile /kh/known
connecttimeout 10
proxyjump gw
# via 1: gw
host gw
user ops
hostname gw
port 22
hashknownhosts no
identitiesonly no
stricthostkeychecking true
serveralivecountmax 2
serveraliveinterval 5
identityfile /keys/gw
globalknownhostsfile none
userknownhostsfile /kh/known
connecttimeout 10

host gw
user bob
hostname gw
port 2200
`
	assert.True(t, strings.HasPrefix(stdout.String(), want), stdout.String())

	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"-ssh-config", cfg, "-accept-new", "gw"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "\nstricthostkeychecking accept-new\n")
}

func TestRunErrors(t *testing.T) {
	cfg := writeConfig(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-ssh-config", cfg, "pc", "web"}, &stdout, &stderr)
	require.Error(t, err)
	require.ErrorIs(t, err, sshtransport.ErrUnsupportedConfig)
	require.ErrorIs(t, err, transport.ErrInvalid)
	assert.Equal(t, "1 of 2 hosts could not be resolved", err.Error())
	assert.Contains(t, stderr.String(), cfg+":21: proxycommand")
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line per host")
	assert.Contains(t, stdout.String(), "host web\n", "the other host is still printed")

	stderr.Reset()
	err = run(context.Background(), nil, &stdout, &stderr)
	require.ErrorIs(t, err, cli.ErrUsage)
	assert.Contains(t, stderr.String(), "no host given")

	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("Host x\n  Bogus 1\n"), 0o600))
	err = run(context.Background(), []string{"-ssh-config", bad, "x"}, &stdout, &stderr)
	require.ErrorIs(t, err, transport.ErrInvalid)
	assert.Contains(t, err.Error(), bad+":2: bogus")
}
