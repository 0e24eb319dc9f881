package e2e_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/sshtest"
	"dproc/split"
)

// TestHostsJoinAndLeaveMidRun starts a run on node1 alone, adds node2 and
// node3 once 3 chunks are done and retires node1 once 8 are: the output
// is the reference, the added nodes did work, and node1 started no chunk
// after it was retired.
func TestHostsJoinAndLeaveMidRun(t *testing.T) {
	c := sshtest.StartCluster(t, 3, nil)
	data := textData(32 << 16)
	want := asciiUpper(data)
	ctx := testContext(t, 60*time.Second)
	d, err := dispatch.New(newSSH(t, c, 0), []string{"node1"}, nil)
	require.NoError(t, err)

	rec := &recorder{}
	var wg sync.WaitGroup
	done := 0 // touched by the scheduling goroutine only
	hook := func(e dispatch.Event) {
		if e.Kind != dispatch.ChunkDone {
			return
		}
		done++
		// Event callbacks must not call into the Dispatcher: change
		// its hosts from another goroutine.
		switch done {
		case 3:
			wg.Add(1)
			go func() { defer wg.Done(); assert.NoError(t, d.AddHosts("node2", "node3")) }()
		case 8:
			wg.Add(1)
			go func() { defer wg.Done(); assert.NoError(t, d.RetireHost("node1")) }()
		}
	}
	rec.hook = hook
	var out bytes.Buffer
	rep, err := d.Run(ctx, &dispatch.Job{Shell: "sleep 0.1; " + upperShell},
		split.Blocks(bytes.NewReader(data), int64(len(data)), 1<<16, nil), gather.Ordered(&out, nil),
		&dispatch.RunOptions{Events: rec.add})
	wg.Wait()
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, out.Bytes()), "output differs from the reference")
	assert.Equal(t, rep.Chunks, rep.Done)
	assert.Positive(t, rec.count(dispatch.ChunkDone, "node2")+rec.count(dispatch.ChunkDone, "node3"), "the added nodes did work")
	assert.Equal(t, 1, rec.count(dispatch.HostRetired, "node1"))
	retired := false
	for _, e := range rec.all() {
		switch {
		case e.Kind == dispatch.HostRetired:
			retired = true
		case retired && e.Kind == dispatch.ChunkStarted:
			assert.NotEqual(t, "node1", e.Host, "chunk %d started on node1 after it was retired", e.Chunk)
		}
	}
	assert.Equal(t, []string{"node2", "node3"}, d.Hosts())
}
