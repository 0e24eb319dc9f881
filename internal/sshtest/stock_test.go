package sshtest

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestStockLimits proves that a stock node has a real server's limits, so
// that the tests that run against one are not vacuous: the 11th session on
// a connection is refused, and handshakes started all at once, with no
// throttle, lose connections past MaxStartups.
func TestStockLimits(t *testing.T) {
	c := StartCluster(t, 1, &Options{Stock: true})
	nd := c.Node(1)
	cfg, err := os.ReadFile(nd.ConfigFile())
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "\nMaxSessions 10\n")
	assert.Contains(t, string(cfg), "\nMaxStartups 10:30:100\n")

	cl := goClient(t, c, nd.Addr())
	var sess []*ssh.Session
	for i := range StockMaxSessions {
		s, err := cl.NewSession()
		require.NoError(t, err, "session %d", i+1)
		sess = append(sess, s)
	}
	_, err = cl.NewSession()
	var oce *ssh.OpenChannelError
	require.ErrorAs(t, err, &oce, "session %d", StockMaxSessions+1)
	// OpenSSH answers "connect failed", not "administratively
	// prohibited", to a session past MaxSessions.
	assert.Equal(t, ssh.ConnectionFailed, oce.Reason)
	assert.Equal(t, "open failed", oce.Message)
	for _, s := range sess {
		s.Close()
	}

	// 60 handshakes at once: from the 11th unauthenticated connection on,
	// sshd drops 30% or more at random, so losing none has a chance below
	// 0.7^50.
	ccfg, err := c.ClientConfig()
	require.NoError(t, err)
	ccfg.Timeout = 20 * time.Second
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 60 {
		wg.Go(func() {
			<-start
			cl, err := ssh.Dial("tcp", nd.Addr(), ccfg)
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				return
			}
			cl.Close()
		})
	}
	close(start)
	wg.Wait()
	assert.Positive(t, failed, "no handshake was dropped")
	assert.Eventually(t, func() bool { return strings.Contains(nd.LogTail(1<<20), "past MaxStartups") }, 5*time.Second, 50*time.Millisecond,
		"sshd logs the drops")
}
