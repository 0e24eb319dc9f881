package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport/memtransport"
)

// RunOptions.StderrFor gives each attempt its own standard error: every
// chunk's writer gets exactly that chunk's stderr, named with its host and
// attempt, a failed first attempt's stderr stays apart from the retry's, and
// the run's Stderr gets nothing.
func TestStderrForKeepsAttemptsApart(t *testing.T) {
	mt, hosts := cluster(t, 3)
	var mu sync.Mutex
	tries := map[string]int{}
	mt.Handle("echoerr", func(ctx context.Context, p *memtransport.Process) int {
		data, _ := io.ReadAll(p.Stdin)
		fmt.Fprintf(p.Stderr, "err %s", data)
		mu.Lock()
		tries[string(data)]++
		n := tries[string(data)]
		mu.Unlock()
		if string(data) == "c2\n" && n == 1 {
			return 3
		}
		p.Stdout.Write(data)
		return 0
	})
	d, err := dispatch.New(mt, hosts, &dispatch.Options{Retries: 1})
	require.NoError(t, err)
	type key struct {
		host    string
		chunk   int
		attempt int
	}
	bufs := map[key]*bytes.Buffer{}
	var run bytes.Buffer
	in := []byte("c0\nc1\nc2\nc3\n")
	var out bytes.Buffer
	_, err = d.Run(context.Background(), &dispatch.Job{Args: []string{"echoerr"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 4, nil), gather.Ordered(&out, nil),
		&dispatch.RunOptions{
			Stderr: &run,
			StderrFor: func(host string, chunk, attempt int) io.Writer {
				mu.Lock()
				defer mu.Unlock()
				b := &bytes.Buffer{}
				bufs[key{host, chunk, attempt}] = b
				return b
			},
		})
	require.NoError(t, err)
	assert.Equal(t, string(in), out.String())
	assert.Empty(t, run.String(), "StderrFor replaces Stderr")
	got := map[int][]string{}
	for k, b := range bufs {
		assert.Contains(t, hosts, k.host)
		assert.Equal(t, fmt.Sprintf("err c%d\n", k.chunk), b.String(), "chunk %d attempt %d", k.chunk, k.attempt)
		got[k.chunk] = append(got[k.chunk], fmt.Sprint(k.attempt))
	}
	assert.Len(t, got, 4)
	assert.ElementsMatch(t, []string{"1", "2"}, got[2], "the failed attempt and its retry each have a writer")
	assert.Equal(t, []string{"1"}, got[0])
}
