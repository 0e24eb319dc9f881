package sshtransport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// TestEnvNotOnCommandLine pins that Command.Env values never appear in the
// host's process list, where every user of the host can read them: a
// session of its own gets them on its standard input before the command's
// input, a reused session with its script. The command still sees them,
// values with quotes, newlines and spaces included, and its input and
// unread count are its own.
func TestEnvNotOnCommandLine(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	nd := c.Node(1)
	var b [8]byte
	_, _ = rand.Read(b[:])
	secret := "dproc-secret-" + hex.EncodeToString(b[:])
	value := secret + " it's \"quoted\"\nand on two lines\\"
	input := strings.Repeat("0123456789\n", 100)
	for _, tc := range []struct {
		name string
		opts *sshtransport.Options
	}{
		{"session per command", &sshtransport.Options{SessionPerCommand: true}},
		{"reused sessions", reuseOpts()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, c.ConfigFile(), tc.opts)
			for i, in := range []string{"", input, input} {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var out bytes.Buffer
				var unread int64
				cmd := &transport.Command{
					// Runs long enough for the process list to be read.
					Shell:  `head -c 5; printf '[%s][%s]' "$DPROC_SECRET" "$OTHER"; sleep 0.3`,
					Env:    []string{"DPROC_SECRET=" + value, "OTHER=x"},
					Stdout: &out,
				}
				if in != "" {
					cmd.Stdin, cmd.InputSize, cmd.Unread = strings.NewReader(in), int64(len(in)), &unread
				}
				done := make(chan error, 1)
				go func() { done <- tr.Run(ctx, "node1", cmd) }()
				var err error
				seen, looks := 0, 0
			watch:
				for {
					select {
					case err = <-done:
						break watch
					case <-time.After(5 * time.Millisecond):
						looks++
						ps, err := nd.Processes(secret) // the node's processes whose command line holds it
						require.NoError(t, err)
						seen += len(ps)
					}
				}
				cancel()
				require.NoError(t, err, "command %d", i)
				assert.Greater(t, looks, 10, "command %d: the process list was read while it ran", i)
				assert.Zero(t, seen, "command %d: the Env value is on a command line", i)
				want := "[" + value + "][x]"
				if in != "" {
					want = "01234" + want
					assert.Equal(t, int64(len(in)-5), unread, "command %d: unread count", i)
				}
				assert.Equal(t, want, out.String(), "command %d", i)
			}
		})
	}
}
