package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/sshtest"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/localtransport"
	"dproc/transport/sshtransport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// upperShell is the worker of most tests: ASCII lower case to upper case,
// byte for byte (GNU tr works on bytes, so NUL, CR and bytes above 127 pass
// through unchanged).
const upperShell = "LC_ALL=C tr a-z A-Z"

// textData returns size bytes of deterministic text: lines of varying
// length, some ending in CRLF, some holding NUL bytes or bytes above 127,
// some empty, and a last line without a newline.
func textData(size int) []byte {
	const letters = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789 .,;:-_"
	out := make([]byte, 0, size)
	x := uint32(2463534242)
	next := func() uint32 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		return x
	}
	for len(out) < size-1 {
		n := int(next() % 160)
		for i := 0; i < n; i++ {
			switch r := next() % 400; {
			case r == 0:
				out = append(out, 0)
			case r == 1:
				out = append(out, byte(0x80+next()%0x80))
			case r == 2:
				out = append(out, '\r') // a lone CR inside a line
			default:
				out = append(out, letters[next()%uint32(len(letters))])
			}
		}
		if next()%3 == 0 {
			out = append(out, '\r')
		}
		out = append(out, '\n')
	}
	out = out[:size-1]
	if out[len(out)-1] == '\n' {
		out[len(out)-1] = 'z'
	}
	return append(out, 'q') // the last line has no newline
}

// asciiUpper is the reference for upperShell, computed in Go.
func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// recorder keeps every dispatch event, and calls hook (if set) with each one
// from the dispatcher's scheduling goroutine.
type recorder struct {
	mu     sync.Mutex
	events []dispatch.Event
	hook   func(dispatch.Event)
}

func (r *recorder) add(e dispatch.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	if r.hook != nil {
		r.hook(e)
	}
}

func (r *recorder) all() []dispatch.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dispatch.Event(nil), r.events...)
}

// count returns how many events of kind k concern host ("" for any host).
func (r *recorder) count(k dispatch.EventKind, host string) int {
	n := 0
	for _, e := range r.all() {
		if e.Kind == k && (host == "" || e.Host == host) {
			n++
		}
	}
	return n
}

// chunks returns the chunk indexes of the events of kind k on host ("" for
// any host).
func (r *recorder) chunks(k dispatch.EventKind, host string) []int {
	var out []int
	for _, e := range r.all() {
		if e.Kind == k && (host == "" || e.Host == host) {
			out = append(out, e.Chunk)
		}
	}
	return out
}

// dump logs every event, for a failed test.
func (r *recorder) dump(t *testing.T) {
	t.Helper()
	for _, e := range r.all() {
		t.Logf("event %s %s", e.Time.Format("15:04:05.000"), e)
	}
}

// pipeline is one dproc run over an in-memory input.
type pipeline struct {
	tr    transport.Transport
	hosts []string
	opts  dispatch.Options // the run's Events are set by run
	job   dispatch.Job
	data  []byte
	block int64
	file  string // when set, gather into this file with gather.File
}

// result is what a pipeline run gave.
type result struct {
	out     []byte
	rep     *dispatch.Report
	err     error
	events  *recorder
	elapsed time.Duration
}

// run runs p with ctx, calling hook with every event.
func (p *pipeline) run(t *testing.T, ctx context.Context, hook func(dispatch.Event)) *result {
	t.Helper()
	rec := &recorder{hook: hook}
	opts := p.opts
	d, err := dispatch.New(p.tr, p.hosts, &opts)
	require.NoError(t, err)
	var buf bytes.Buffer
	var g gather.Gatherer = gather.Ordered(&buf, nil)
	if p.file != "" {
		g, err = gather.File(p.file, nil)
		require.NoError(t, err)
	}
	s := split.Blocks(bytes.NewReader(p.data), int64(len(p.data)), p.block, nil)
	start := time.Now()
	job := p.job
	rep, err := d.Run(ctx, &job, s, g, &dispatch.RunOptions{Events: rec.add})
	res := &result{out: buf.Bytes(), rep: rep, err: err, events: rec, elapsed: time.Since(start)}
	if p.file != "" && err == nil {
		res.out, err = os.ReadFile(p.file)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			rec.dump(t)
		}
	})
	return res
}

// requireComplete checks that res succeeded with output want, each chunk
// committed exactly once.
func requireComplete(t *testing.T, res *result, want []byte) {
	t.Helper()
	require.NoError(t, res.err)
	require.NotNil(t, res.rep)
	require.True(t, bytes.Equal(want, res.out), "output differs from the reference: got %d bytes, want %d (first difference at %d)",
		len(res.out), len(want), firstDiff(want, res.out))
	require.Positive(t, res.rep.Chunks)
	assert.Equal(t, res.rep.Chunks, res.rep.Done, "chunks committed")
	done := map[int]int{}
	for _, c := range res.events.chunks(dispatch.ChunkDone, "") {
		done[c]++
	}
	for i := 0; i < res.rep.Chunks; i++ {
		assert.Equal(t, 1, done[i], "chunk %d committed %d times", i, done[i])
	}
	assert.Len(t, done, res.rep.Chunks, "committed chunk indexes")
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) == len(b) {
		return -1
	}
	return min(len(a), len(b))
}

// sshOptions are the transport options of the tests: the cluster's config,
// no agent, and (when keepalive > 0) keepalives every keepalive, three
// unanswered ones declaring the connection lost.
func sshOptions(c *sshtest.Cluster, keepalive time.Duration) *sshtransport.Options {
	return &sshtransport.Options{
		ConfigFile: c.ConfigFile(), NoAgent: true,
		KeepaliveInterval: keepalive, KeepaliveCountMax: 3,
		ConnectTimeout: 5 * time.Second,
	}
}

// newSSH returns a fresh SSH transport for c, closed at the end of the test.
func newSSH(t *testing.T, c *sshtest.Cluster, keepalive time.Duration) *sshtransport.Transport {
	t.Helper()
	tr, err := sshtransport.New(sshOptions(c, keepalive))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, tr.Close()) })
	return tr
}

// newLocal returns a local transport with the given hosts.
func newLocal(t *testing.T, hosts []string) *localtransport.Transport {
	t.Helper()
	tr, err := localtransport.New(t.TempDir(), &localtransport.Options{Hosts: hosts})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, tr.Close()) })
	return tr
}

// testContext returns a context that ends with the test or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// once runs f the first time it is called, in its own goroutine, and
// lets wait block until f has returned.
type once struct {
	o  sync.Once
	wg sync.WaitGroup
}

func (o *once) do(f func()) {
	o.o.Do(func() {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			f()
		}()
	})
}

func (o *once) wait() { o.wg.Wait() }

// logDurations prints the measured durations for the closing note.
func logDurations(t *testing.T, what string, undisturbed, disturbed time.Duration) {
	t.Helper()
	msg := fmt.Sprintf("DURATIONS %s: undisturbed %s, %s %s (ratio %.2f)", what,
		undisturbed.Round(time.Millisecond), what, disturbed.Round(time.Millisecond),
		disturbed.Seconds()/undisturbed.Seconds())
	t.Log(msg)
	if p := os.Getenv("DPROC_E2E_DURATIONS"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, msg)
			f.Close()
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// discard is an io.Writer that drops everything.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
