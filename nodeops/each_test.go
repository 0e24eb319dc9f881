package nodeops_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/nodeops"
)

func TestEachBound(t *testing.T) {
	cases := []struct {
		hosts, limit, want int
	}{
		{hosts: 10, limit: 3, want: 3},
		{hosts: 10, limit: 1, want: 1},
		{hosts: 4, limit: 0, want: 4},  // no limit
		{hosts: 4, limit: -1, want: 4}, // no limit
		{hosts: 3, limit: 8, want: 3},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d hosts limit %d", c.hosts, c.limit), func(t *testing.T) {
			hosts := make([]string, c.hosts)
			for i := range hosts {
				hosts[i] = fmt.Sprintf("h%d", i)
			}
			var running, peak atomic.Int32
			// The first c.want calls wait for each other, so the
			// peak reaches the bound whatever the scheduling.
			var arrived sync.WaitGroup
			arrived.Add(c.want)
			var n atomic.Int32
			nodeops.Each(context.Background(), hosts, c.limit, func(ctx context.Context, host string) (struct{}, error) {
				cur := running.Add(1)
				defer running.Add(-1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				if n.Add(1) <= int32(c.want) {
					arrived.Done()
					arrived.Wait()
				}
				return struct{}{}, nil
			})
			assert.Equal(t, int32(c.want), peak.Load())
			assert.Equal(t, int32(c.hosts), n.Load(), "every host called once")
		})
	}
}

func TestEachOrder(t *testing.T) {
	hosts := []string{"h0", "h1", "h2", "h3", "h4"}
	// The calls finish in reverse order: each waits for the next host's.
	done := map[string]chan struct{}{}
	for _, h := range hosts {
		done[h] = make(chan struct{})
	}
	var mu sync.Mutex
	var finished []string
	res := nodeops.Each(context.Background(), hosts, 0, func(ctx context.Context, host string) (string, error) {
		var i int
		fmt.Sscanf(host, "h%d", &i)
		if i+1 < len(hosts) {
			<-done[hosts[i+1]]
		}
		mu.Lock()
		finished = append(finished, host)
		mu.Unlock()
		close(done[host])
		if host == "h2" {
			return "", errors.New("h2 failed")
		}
		return host + "!", nil
	})
	assert.Equal(t, []string{"h4", "h3", "h2", "h1", "h0"}, finished)
	require.Len(t, res, len(hosts))
	for i, r := range res {
		assert.Equal(t, hosts[i], r.Host)
		if r.Host == "h2" {
			assert.EqualError(t, r.Err, "h2 failed")
			continue
		}
		assert.NoError(t, r.Err)
		assert.Equal(t, hosts[i]+"!", r.Value, "result %d is the call for hosts[%d]", i, i)
	}
}

func TestEachSerialAndDuplicates(t *testing.T) {
	hosts := []string{"a", "b", "a", "c"}
	var called []string
	res := nodeops.Each(context.Background(), hosts, 1, func(ctx context.Context, host string) (int, error) {
		called = append(called, host) // limit 1: one call at a time
		return len(called), nil
	})
	assert.Equal(t, hosts, called, "with limit 1 the calls run one by one in the order of hosts; a host listed twice is called twice")
	for i, r := range res {
		assert.Equal(t, hosts[i], r.Host)
		assert.Equal(t, i+1, r.Value)
	}
}

func TestEachNoHosts(t *testing.T) {
	res := nodeops.Each(context.Background(), nil, 3, func(context.Context, string) (int, error) {
		t.Fatal("called")
		return 0, nil
	})
	assert.Empty(t, res)
}

func TestEachCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hosts := []string{"a", "b", "c", "d"}
	var called []string
	res := nodeops.Each(ctx, hosts, 1, func(ctx context.Context, host string) (int, error) {
		called = append(called, host) // limit 1: one call at a time
		if host == "b" {
			cancel()
			<-ctx.Done() // the call under way sees it
			return 2, ctx.Err()
		}
		return 1, nil
	})
	assert.Equal(t, []string{"a", "b"}, called, "no call starts once ctx ended")
	require.Len(t, res, 4)
	assert.NoError(t, res[0].Err)
	assert.Equal(t, 1, res[0].Value)
	assert.ErrorIs(t, res[1].Err, context.Canceled)
	assert.Equal(t, 2, res[1].Value)
	for _, r := range res[2:] {
		assert.ErrorIs(t, r.Err, context.Canceled, r.Host)
		assert.Zero(t, r.Value, r.Host)
	}
	assert.Equal(t, hosts, []string{res[0].Host, res[1].Host, res[2].Host, res[3].Host})

	// A ctx that ended before Each calls nobody.
	res = nodeops.Each(ctx, hosts, 0, func(context.Context, string) (int, error) {
		t.Error("called after ctx ended")
		return 0, nil
	})
	for _, r := range res {
		assert.ErrorIs(t, r.Err, context.Canceled, r.Host)
	}
}

func TestEachPanic(t *testing.T) {
	boom := errors.New("boom")
	var otherSawCancel atomic.Bool
	var later atomic.Int32
	release := make(chan struct{})
	fn := func(ctx context.Context, host string) (int, error) {
		switch host {
		case "slow":
			close(release)
			<-ctx.Done() // cancelled because another call panicked
			otherSawCancel.Store(true)
		case "bad":
			<-release
			panic(boom)
		default:
			later.Add(1)
		}
		return 0, nil
	}
	var got any
	func() {
		defer func() { got = recover() }()
		nodeops.Each(context.Background(), []string{"slow", "bad", "x", "y"}, 2, fn)
	}()
	require.NotNil(t, got, "the panic reaches the caller")
	pe, ok := got.(*nodeops.PanicError)
	require.True(t, ok, "panic value %T", got)
	assert.Equal(t, "bad", pe.Host)
	assert.Equal(t, boom, pe.Value)
	assert.ErrorIs(t, pe, boom)
	assert.Contains(t, pe.Error(), `host "bad" panicked: boom`)
	assert.Contains(t, string(pe.Stack), "each_test.go", "the stack of the call that panicked")
	assert.True(t, otherSawCancel.Load(), "Each waited for the call under way, whose ctx was cancelled")
	assert.Zero(t, later.Load(), "no call starts after a panic")
}
