package sshtransport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/sshtest"
	"dproc/transport"
	"dproc/transport/sshtransport"
)

// stdinProbe is a Command.Stdin that gives endless data, after delay per
// Read, and records the Reads that run after Run has returned. When block
// is set, its first Read waits for block to be closed.
type stdinProbe struct {
	delay   time.Duration
	block   chan struct{}
	started chan struct{} // closed when the first Read starts

	once     sync.Once
	reading  atomic.Int32 // Reads in progress
	returned atomic.Bool  // set by the test once Run has returned
	late     atomic.Int32 // Reads started after Run returned
}

func newStdinProbe(delay time.Duration, block bool) *stdinProbe {
	p := &stdinProbe{delay: delay, started: make(chan struct{})}
	if block {
		p.block = make(chan struct{})
	}
	return p
}

func (p *stdinProbe) Read(b []byte) (int, error) {
	if p.returned.Load() {
		p.late.Add(1)
	}
	p.reading.Add(1)
	defer p.reading.Add(-1)
	first := false
	p.once.Do(func() { first = true; close(p.started) })
	if first && p.block != nil {
		<-p.block
	}
	time.Sleep(p.delay)
	n := min(len(b), 4096)
	for i := range n {
		b[i] = 'y'
	}
	return n, nil
}

// runWithProbe runs cmd with p as its standard input and marks p once Run
// has returned, reporting how many Reads were still in progress then.
func runWithProbe(ctx context.Context, tr transport.Transport, host string, cmd *transport.Command, p *stdinProbe) (inProgress int32, err error) {
	cmd.Stdin = p
	err = tr.Run(ctx, host, cmd)
	p.returned.Store(true)
	return p.reading.Load(), err
}

// TestRunFinishesWithStdin pins that Run, when the command exits by itself,
// has finished with Command.Stdin before it returns: no Read of it is in
// progress or starts afterwards, even when the command read none of it.
func TestRunFinishesWithStdin(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx := context.Background()

	tests := []struct {
		name     string
		cmd      transport.Command
		wantCode int
		wantOut  string
	}{
		{name: "exit 0 unread", cmd: transport.Command{Shell: "exit 0"}},
		{name: "exit 3 unread", cmd: transport.Command{Shell: "exit 3"}, wantCode: 3},
		{name: "reads a little", cmd: transport.Command{Args: []string{"head", "-c", "5"}}, wantOut: "yyyyy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newStdinProbe(time.Millisecond, false)
			var out bytes.Buffer
			tc.cmd.Stdout = &out
			inProgress, err := runWithProbe(ctx, tr, "node1", &tc.cmd, p)
			if tc.wantCode == 0 {
				require.NoError(t, err)
			} else {
				var ee *transport.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, tc.wantCode, ee.Code)
			}
			assert.Equal(t, tc.wantOut, out.String())
			assert.Zero(t, inProgress, "a Read of Stdin was in progress when Run returned")
			time.Sleep(50 * time.Millisecond)
			assert.Zero(t, p.late.Load(), "Stdin was read after Run returned")
		})
	}

	t.Run("blocked read is waited for", func(t *testing.T) {
		p := newStdinProbe(0, true)
		returned := make(chan error, 1)
		go func() {
			_, err := runWithProbe(ctx, tr, "node1", &transport.Command{Shell: "exit 0"}, p)
			returned <- err
		}()
		<-p.started
		// The command exits at once; Run must still wait for the Read.
		select {
		case err := <-returned:
			t.Fatalf("Run returned (%v) while a Read of Stdin was blocked", err)
		case <-time.After(500 * time.Millisecond):
		}
		close(p.block)
		require.NoError(t, <-returned)
		assert.Zero(t, p.late.Load(), "Stdin was read after Run returned")
	})

	t.Run("pipe read is interrupted and left readable", func(t *testing.T) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer r.Close()
		defer w.Close()
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx, "node1", &transport.Command{Shell: "exit 0", Stdin: r}) }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Run waits for a pipe nobody writes to")
		}
		// Nothing was consumed, and no deadline is left on the pipe.
		_, err = w.Write([]byte("left"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(r, buf)
		require.NoError(t, err)
		assert.Equal(t, "left", string(buf))
	})

	t.Run("early return leaves one read at most", func(t *testing.T) {
		p := newStdinProbe(0, true)
		cctx, cancel := context.WithCancel(ctx)
		returned := make(chan error, 1)
		go func() {
			_, err := runWithProbe(cctx, tr, "node1", &transport.Command{Args: []string{"cat"}}, p)
			returned <- err
		}()
		<-p.started
		cancel()
		select {
		case err := <-returned:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second):
			t.Fatal("a cancelled Run waits for a blocked Read of Stdin")
		}
		close(p.block) // the Read in progress returns
		time.Sleep(50 * time.Millisecond)
		assert.Zero(t, p.late.Load(), "a Read of Stdin started after Run returned")
	})
}

// TestCloseWaitsForCalls pins that Close cancels every call in flight (a
// command, a Put reading a pipe, a Run and a Ping stuck in a handshake) and
// returns only once they all have, each with ErrClosed; that every method
// fails with ErrClosed afterwards; and that Close is idempotent.
func TestCloseWaitsForCalls(t *testing.T) {
	c := sshtest.StartCluster(t, 1, nil)
	nd := c.Node(1)

	// A server that accepts connections and never says a word.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 8)
	var lnWG sync.WaitGroup
	lnWG.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- nc
		}
	})
	t.Cleanup(func() {
		ln.Close()
		lnWG.Wait()
		close(accepted)
		for nc := range accepted {
			nc.Close()
		}
	})

	cfg := writeConfig(t, c, c.KnownHostsFile(),
		entry{name: "node1", addr: nd.Addr()},
		entry{name: "silent", addr: ln.Addr().String(), extra: []string{"ConnectTimeout 120"}})
	tr, err := sshtransport.New(&sshtransport.Options{ConfigFile: cfg, NoAgent: true})
	require.NoError(t, err)
	defer tr.Close()
	ctx := context.Background()
	require.NoError(t, tr.Run(ctx, "node1", &transport.Command{Args: []string{"true"}}))

	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()

	blocked := newStdinProbe(0, true)
	defer close(blocked.block) // the Read Run left in progress returns
	calls := []struct {
		name string
		call func() error
	}{
		{"run", func() error { return tr.Run(ctx, "node1", &transport.Command{Shell: "sleep 31"}) }},
		{"run cat", func() error {
			return tr.Run(ctx, "node1", &transport.Command{Args: []string{"cat"}, Stdin: blocked})
		}},
		{"put", func() error { return tr.Put(ctx, "node1", "closing/put.txt", pr, 0) }},
		{"run silent", func() error { return tr.Run(ctx, "silent", &transport.Command{Args: []string{"true"}}) }},
		{"ping silent", func() error { return tr.Ping(ctx, "silent") }},
	}
	errs := make([]error, len(calls))
	var returned atomic.Int32
	var wg sync.WaitGroup
	for i, cl := range calls {
		wg.Go(func() {
			errs[i] = cl.call()
			returned.Add(1)
		})
	}
	waitProcess(t, nd, "sleep 31")
	require.Eventually(t, func() bool {
		m, _ := filepath.Glob(filepath.Join(nd.Home(), "closing", ".put.txt.dproc-*"))
		return len(m) == 1
	}, 10*time.Second, 10*time.Millisecond, "the Put has not started")
	require.Eventually(t, func() bool { return len(accepted) >= 1 }, 10*time.Second, 10*time.Millisecond, "no dial to the silent host")
	time.Sleep(100 * time.Millisecond) // the second dial to the silent host
	require.Zero(t, returned.Load(), "calls returned before Close: %v", errs)

	closeDone := make(chan struct{})
	go func() {
		defer close(closeDone)
		assert.NoError(t, tr.Close(), "a concurrent Close")
	}()
	require.NoError(t, tr.Close())
	assert.EqualValues(t, len(calls), returned.Load(), "Close returned before the calls in flight")
	<-closeDone
	wg.Wait()
	for i, cl := range calls {
		assert.ErrorIs(t, errs[i], transport.ErrClosed, "%s: %v", cl.name, errs[i])
		assert.False(t, transport.IsLost(errs[i]), "%s", cl.name)
	}
	requireNoProcess(t, nd, "sleep 31")

	after := map[string]error{
		"run":      tr.Run(ctx, "node1", &transport.Command{Args: []string{"true"}}),
		"put":      tr.Put(ctx, "node1", "x", strings.NewReader("x"), 0),
		"get":      tr.Get(ctx, "node1", "x", io.Discard),
		"ping":     tr.Ping(ctx, "node1"),
		"remove":   tr.Remove(ctx, "node1", "x"),
		"checksum": func() error { _, err := tr.Checksum(ctx, "node1", []string{"x"}); return err }(),
	}
	for name, err := range after {
		assert.ErrorIs(t, err, transport.ErrClosed, "%s after Close", name)
		assert.False(t, transport.IsLost(err), "%s after Close", name)
	}
	assert.NoError(t, tr.Close(), "Close again")
}

// TestChecksum pins the Checksummer: digests in order, "~/x" paths, "" for
// a missing file (which transport.Checksums reports as an error matching
// fs.ErrNotExist that names it), ErrNotRegular for a directory, and the
// fallback to Get on a host without sha256sum.
func TestChecksum(t *testing.T) {
	// The second cluster's login shell runs commands with a PATH that
	// has what the transport needs but no sha256sum.
	bin := filepath.Join(t.TempDir(), "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	for _, prog := range []string{"sleep", "cat", "rm", "mkdir", "mv", "chmod", "head"} {
		p, err := exec.LookPath(prog)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(p, filepath.Join(bin, prog)))
	}
	shell := filepath.Join(t.TempDir(), "nosum-sh")
	require.NoError(t, os.WriteFile(shell, []byte("#!/bin/sh\nPATH="+bin+"\nexport PATH\nexec /bin/sh \"$@\"\n"), 0o755))

	for _, tc := range []struct {
		name  string
		opts  *sshtest.Options
		noSum bool
	}{
		{name: "sha256sum"},
		{name: "no sha256sum", opts: &sshtest.Options{Shell: shell}, noSum: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sshtest.StartCluster(t, 1, tc.opts)
			tr := newTransport(t, c.ConfigFile(), nil)
			ctx := context.Background()
			home := c.Node(1).Home()
			if tc.noSum {
				err := tr.Run(ctx, "node1", &transport.Command{Args: []string{"sha256sum", "/dev/null"}})
				require.ErrorIs(t, err, transport.ErrCommandNotFound, "the host must lack sha256sum")
			}
			require.NoError(t, os.MkdirAll(filepath.Join(home, "sums", "dir"), 0o755))
			a, b := "first\n", strings.Repeat("second ", 1000)
			require.NoError(t, os.WriteFile(filepath.Join(home, "sums", "a"), []byte(a), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(home, "sums", "it's b"), []byte(b), 0o644))
			sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

			got, err := tr.Checksum(ctx, "node1", []string{"sums/a", "~/sums/it's b", filepath.Join(home, "sums", "a")})
			require.NoError(t, err)
			assert.Equal(t, []string{sum(a), sum(b), sum(a)}, got)

			got, err = transport.Checksums(ctx, tr, "node1", []string{"~/sums/a"})
			require.NoError(t, err)
			assert.Equal(t, []string{sum(a)}, got)

			got, err = tr.Checksum(ctx, "node1", nil)
			require.NoError(t, err)
			assert.Empty(t, got)

			got, err = tr.Checksum(ctx, "node1", []string{"sums/a", "sums/missing", "~/sums/also missing"})
			require.NoError(t, err)
			assert.Equal(t, []string{sum(a), "", ""}, got)
			got, err = transport.Checksums(ctx, tr, "node1", []string{"sums/a", "sums/missing", "~/sums/also missing"})
			require.ErrorIs(t, err, fs.ErrNotExist)
			assert.Equal(t, []string{sum(a), "", ""}, got)
			assert.Contains(t, err.Error(), `"sums/missing"`)
			assert.Contains(t, err.Error(), `"node1"`)
			assert.False(t, errors.Is(err, transport.ErrLost))
			assert.False(t, transport.IsLost(err))

			_, err = tr.Checksum(ctx, "node1", []string{"sums/a", "sums/dir"})
			require.Error(t, err)
			assert.NotErrorIs(t, err, fs.ErrNotExist)
			assert.False(t, transport.IsLost(err))
			if !tc.noSum {
				assert.ErrorIs(t, err, sshtransport.ErrNotRegular)
				assert.Contains(t, err.Error(), `"sums/dir"`)
			}
		})
	}
}

// TestHomePaths pins that "~" and "~/x" mean the home directory and its x
// in Command.Dir, Put, Get, Remove and Checksum, over SFTP and over the cat
// fallback, that "~user" is ErrInvalid, and that nothing named "~" appears.
func TestHomePaths(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "no-sftp-server")
	require.NoError(t, os.WriteFile(broken, []byte("#!/bin/sh\nexit 1\n"), 0o755))
	for _, tc := range []struct {
		name string
		opts *sshtest.Options
	}{
		{name: "sftp"},
		{name: "cat", opts: &sshtest.Options{SftpServer: broken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sshtest.StartCluster(t, 1, tc.opts)
			tr := newTransport(t, c.ConfigFile(), nil)
			ctx := context.Background()
			home := c.Node(1).Home()

			require.NoError(t, tr.Put(ctx, "node1", "~/hp/x", strings.NewReader("data\n"), 0))
			b, err := os.ReadFile(filepath.Join(home, "hp", "x"))
			require.NoError(t, err)
			assert.Equal(t, "data\n", string(b))
			require.NoError(t, tr.Put(ctx, "node1", "~//hp/y", strings.NewReader("why\n"), 0))
			assert.FileExists(t, filepath.Join(home, "hp", "y"))

			for _, p := range []string{"~/hp/x", "hp/x", filepath.Join(home, "hp", "x")} {
				var got bytes.Buffer
				require.NoError(t, tr.Get(ctx, "node1", p, &got), p)
				assert.Equal(t, "data\n", got.String(), p)
			}
			for dir, want := range map[string]string{"~": home, "~/": home, "": home, "~/hp": filepath.Join(home, "hp"), "hp": filepath.Join(home, "hp")} {
				var out bytes.Buffer
				require.NoError(t, tr.Run(ctx, "node1", &transport.Command{Shell: "pwd -P", Dir: dir, Stdout: &out}), dir)
				real, err := filepath.EvalSymlinks(want)
				require.NoError(t, err)
				assert.Equal(t, real+"\n", out.String(), "Dir %q", dir)
			}
			sums, err := tr.Checksum(ctx, "node1", []string{"~/hp/x"})
			require.NoError(t, err)
			h := sha256.Sum256([]byte("data\n"))
			assert.Equal(t, []string{hex.EncodeToString(h[:])}, sums)

			require.NoError(t, tr.Remove(ctx, "node1", "~/hp/x"))
			assert.NoFileExists(t, filepath.Join(home, "hp", "x"))
			assert.NoFileExists(t, filepath.Join(home, "~"), "a literal ~ was made")
			_, err = os.Stat(filepath.Join(home, "hp", "~"))
			assert.ErrorIs(t, err, fs.ErrNotExist)

			invalid := map[string]error{
				"put ~user": tr.Put(ctx, "node1", "~root/x", strings.NewReader("x"), 0),
				"put ~":     tr.Put(ctx, "node1", "~", strings.NewReader("x"), 0),
				"get ~user": tr.Get(ctx, "node1", "~root/x", io.Discard),
				"remove ~":  tr.Remove(ctx, "node1", "~/"),
				"remove ~u": tr.Remove(ctx, "node1", "~root"),
				"run ~user": tr.Run(ctx, "node1", &transport.Command{Args: []string{"true"}, Dir: "~root"}),
				"checksum":  func() error { _, err := tr.Checksum(ctx, "node1", []string{"~root/x"}); return err }(),
			}
			for name, err := range invalid {
				assert.ErrorIs(t, err, transport.ErrInvalid, name)
				assert.False(t, transport.IsLost(err), name)
			}
			assert.DirExists(t, home)
		})
	}
}

// TestErrorKinds pins the kinds of error: an unknown host is ErrUnknownHost
// and never lost, in every method; a non-zero exit is an *ExitError naming
// the host once; Ping is nil for a live host, lost for a dead one and not
// lost for a refusal; and errors.Is(err, ErrLost) agrees with IsLost.
func TestErrorKinds(t *testing.T) {
	c := sshtest.StartCluster(t, 2, nil)
	tr := newTransport(t, c.ConfigFile(), nil)
	ctx := context.Background()
	agree := func(t *testing.T, err error, name string) {
		t.Helper()
		assert.Equal(t, errors.Is(err, transport.ErrLost), transport.IsLost(err), "%s: ErrLost and IsLost disagree on %v", name, err)
	}

	t.Run("unknown host", func(t *testing.T) {
		const host = "dproc-no-such-host.invalid"
		for name, err := range map[string]error{
			"run":      tr.Run(ctx, host, &transport.Command{Args: []string{"true"}}),
			"put":      tr.Put(ctx, host, "x", strings.NewReader("x"), 0),
			"get":      tr.Get(ctx, host, "x", io.Discard),
			"ping":     tr.Ping(ctx, host),
			"remove":   tr.Remove(ctx, host, "x"),
			"checksum": func() error { _, err := tr.Checksum(ctx, host, []string{"x"}); return err }(),
		} {
			assert.ErrorIs(t, err, transport.ErrUnknownHost, name)
			assert.NotErrorIs(t, err, transport.ErrLost, name)
			assert.False(t, transport.IsLost(err), name)
			agree(t, err, name)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		for _, tc := range []struct {
			shell  string
			code   int
			signal string
		}{
			{shell: "echo bad >&2; exit 3", code: 3},
			{shell: "kill -KILL $$", code: 128 + 9, signal: "KILL"},
		} {
			err := tr.Run(ctx, "node1", &transport.Command{Shell: tc.shell})
			var ee *transport.ExitError
			require.ErrorAs(t, err, &ee, tc.shell)
			assert.Equal(t, "node1", ee.Host)
			assert.Equal(t, tc.shell, ee.Command)
			assert.Equal(t, tc.code, ee.Code, tc.shell)
			assert.Equal(t, tc.signal, ee.Signal, tc.shell)
			assert.Equal(t, 1, strings.Count(err.Error(), `"node1"`), "the host is named once: %v", err)
			assert.ErrorIs(t, err, transport.ErrFailed)
			agree(t, err, tc.shell)
			assert.False(t, transport.IsLost(err))
		}
		err := tr.Run(ctx, "node1", &transport.Command{Shell: "echo bad >&2; exit 3"})
		assert.Contains(t, err.Error(), "stderr: bad")
	})

	t.Run("ping", func(t *testing.T) {
		require.NoError(t, tr.Ping(ctx, "node1"))
		require.NoError(t, tr.Ping(ctx, "node2"))

		err := tr.Ping(ctx, "")
		assert.ErrorIs(t, err, transport.ErrInvalid)
		agree(t, err, "empty host")
		assert.False(t, transport.IsLost(err))

		// A host key no file knows, and a key the host refuses.
		emptyKH := filepath.Join(t.TempDir(), "known_hosts")
		require.NoError(t, os.WriteFile(emptyKH, nil, 0o600))
		otherKey := filepath.Join(t.TempDir(), "id_other")
		require.NoError(t, exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey).Run())
		cfg := writeConfig(t, c, emptyKH, entry{name: "stranger", addr: c.Node(1).Addr()})
		refused := writeConfig(t, c, c.KnownHostsFile(),
			entry{name: "badkey", addr: c.Node(1).Addr(), extra: []string{"IdentityFile " + otherKey, "IdentitiesOnly yes"}})
		err = newTransport(t, cfg, nil).Ping(ctx, "stranger")
		assert.ErrorIs(t, err, sshtransport.ErrUnknownHostKey)
		assert.False(t, transport.IsLost(err), "a refused host key is not lost: %v", err)
		agree(t, err, "host key")
		err = newTransport(t, refused, nil).Ping(ctx, "badkey")
		assert.ErrorIs(t, err, sshtransport.ErrAuth)
		assert.False(t, transport.IsLost(err), "a refused login is not lost: %v", err)
		agree(t, err, "auth")

		// A host that went away is lost.
		require.NoError(t, c.Node(2).Stop())
		err = tr.Ping(ctx, "node2")
		assert.ErrorIs(t, err, transport.ErrLost)
		assert.True(t, transport.IsLost(err), "%v", err)
		var ee *transport.ExitError
		assert.False(t, errors.As(err, &ee), "Ping wraps an ExitError: %v", err)
		assert.Contains(t, err.Error(), `"node2"`)

		closed := newTransport(t, c.ConfigFile(), nil)
		require.NoError(t, closed.Close())
		err = closed.Ping(ctx, "node1")
		assert.ErrorIs(t, err, transport.ErrClosed)
		assert.False(t, transport.IsLost(err))
		agree(t, err, "closed")
	})
}
