package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"dproc/internal/errdef"
	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/memtransport"
)

var hostile = []string{
	"", "plain", "with space", "it's", `"double"`, "$HOME", "$(id)", "`id`", "a;b", "a|b", "a&b",
	"*", "?", "[a]", "~", "~root", "new\nline", "tab\there", "-n", "--", "=x", "A=b", "%s", "\\", "!",
	"{a,b}", "#", "héllo wörld", "\x01\x7f", "trailing\\",
}

func TestQuoteRoundTripsThroughSh(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatalf("sh is needed: %v", err)
	}
	line := "printf '%s\\0' " + transport.QuoteArgs(hostile)
	out, err := exec.Command("sh", "-c", line).Output()
	require.NoError(t, err, line)
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	assert.Equal(t, hostile, got)
}

func TestQuoteLeavesSafeWordsAlone(t *testing.T) {
	for in, want := range map[string]string{
		"abc":          "abc",
		"/usr/bin/tr":  "/usr/bin/tr",
		"a-z":          "a-z",
		"x.y_z:1,2+3@": "x.y_z:1,2+3@",
		"":             "''",
		"a b":          "'a b'",
		"it's":         `'it'\''s'`,
		"A=b":          "'A=b'",
	} {
		assert.Equal(t, want, transport.Quote(in), "Quote(%q)", in)
	}
}

func TestCommandValidate(t *testing.T) {
	cases := []struct {
		name string
		cmd  *transport.Command
		ok   bool
	}{
		{"nil", nil, false},
		{"empty", &transport.Command{}, false},
		{"both", &transport.Command{Args: []string{"a"}, Shell: "a"}, false},
		{"empty program", &transport.Command{Args: []string{""}}, false},
		{"bad env", &transport.Command{Args: []string{"a"}, Env: []string{"NOVALUE"}}, false},
		{"bad env name", &transport.Command{Args: []string{"a"}, Env: []string{"1X=2"}}, false},
		{"NUL in an argument", &transport.Command{Args: []string{"printf", "a\x00b"}}, false},
		{"NUL in Shell", &transport.Command{Shell: "echo a\x00b"}, false},
		{"NUL in Env", &transport.Command{Args: []string{"a"}, Env: []string{"X=a\x00b"}}, false},
		{"NUL in Dir", &transport.Command{Args: []string{"a"}, Dir: "d\x00"}, false},
		{"args", &transport.Command{Args: []string{"tr", "a-z", "A-Z"}, Env: []string{"LC_ALL=C", "_X1="}}, true},
		{"shell", &transport.Command{Shell: "tr a-z A-Z | sort"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd.Validate()
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, transport.ErrInvalid)
			}
		})
	}
}

func TestCommandStringHidesEnv(t *testing.T) {
	c := &transport.Command{Args: []string{"deploy", "my file"}, Env: []string{"TOKEN=s3cret"}}
	assert.Equal(t, "deploy 'my file'", c.String())
	assert.NotContains(t, c.String(), "s3cret")
	ee := &transport.ExitError{Host: "n1", Command: c.String(), Code: 2}
	assert.NotContains(t, ee.Error(), "s3cret")
}

func TestErrorsAreTellable(t *testing.T) {
	exit := &transport.ExitError{Host: "n1", Command: "work", Code: 3, Stderr: []byte("one\ntwo\nthe reason\n")}
	notFound := &transport.ExitError{Host: "n1", Command: "nope", Code: 127}
	lost := &transport.OpError{Op: "run", Host: "n2", Err: transport.Lost(io.ErrUnexpectedEOF)}
	missing := &transport.OpError{Op: "get", Host: "n3", Path: "a.txt", Err: fs.ErrNotExist}
	wrapped := fmt.Errorf("chunk 4: %w", &transport.OpError{Op: "run", Host: "n1", Err: exit})

	assert.ErrorIs(t, wrapped, transport.ErrFailed)
	assert.NotErrorIs(t, wrapped, transport.ErrLost)
	assert.NotErrorIs(t, wrapped, transport.ErrCommandNotFound)
	var ee *transport.ExitError
	require.ErrorAs(t, wrapped, &ee)
	assert.Equal(t, 3, ee.Code)
	assert.False(t, transport.IsLost(wrapped))

	assert.ErrorIs(t, notFound, transport.ErrCommandNotFound)
	assert.ErrorIs(t, notFound, transport.ErrFailed)

	assert.ErrorIs(t, lost, transport.ErrLost)
	assert.ErrorIs(t, lost, io.ErrUnexpectedEOF)
	assert.True(t, transport.IsLost(lost))
	assert.NotErrorIs(t, lost, transport.ErrFailed)

	assert.ErrorIs(t, missing, fs.ErrNotExist)
	assert.False(t, transport.IsLost(missing))

	assert.Equal(t, transport.ErrLost, transport.Lost(nil))
	assert.Same(t, lost.Err, transport.Lost(lost.Err), "not wrapped twice")

	// A lost error built from a failed command keeps its status in the
	// text but is lost only, never both (rule R3).
	probe := transport.Lost(&transport.OpError{Op: "run", Host: "n1", Err: exit})
	assert.ErrorIs(t, probe, transport.ErrLost)
	assert.True(t, transport.IsLost(probe))
	assert.NotErrorIs(t, probe, transport.ErrFailed)
	assert.False(t, errors.As(probe, &ee), "a lost error holds no ExitError")
	assert.Contains(t, probe.Error(), "exited with status 3")
	assert.Contains(t, probe.Error(), "the reason")
	for _, err := range []error{exit, notFound, lost, missing, wrapped, probe, transport.Lost(nil), transport.Lost(io.EOF)} {
		assert.Equal(t, errors.Is(err, transport.ErrLost), transport.IsLost(err), "R3 on %v", err)
	}

	msg := wrapped.Error()
	for _, want := range []string{"chunk 4", `"n1"`, `"work"`, "status 3", "the reason"} {
		assert.Contains(t, msg, want)
	}
	assert.Contains(t, (&transport.ExitError{Host: "h", Command: "c", Code: 137, Signal: "KILL"}).Error(), "killed by signal KILL")
	assert.Equal(t, `get on host "n3" "a.txt": file does not exist`, missing.Error())
}

func TestTailKeepsTheEnd(t *testing.T) {
	var tail transport.Tail
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&tail, "line %d\n", i)
	}
	got := tail.Bytes()
	assert.Len(t, got, transport.TailSize)
	assert.True(t, bytes.HasSuffix(got, []byte("line 9999\n")))

	small := transport.Tail{N: 4}
	small.Write([]byte("ab"))
	small.Write([]byte("cdef"))
	assert.Equal(t, "cdef", string(small.Bytes()))
	small.Write([]byte("g"))
	assert.Equal(t, "defg", string(small.Bytes()))
	small.Write([]byte("0123456789"))
	assert.Equal(t, "6789", string(small.Bytes()))
}

func TestInstallSkipsWhatIsThere(t *testing.T) {
	ctx := context.Background()
	mt := memtransport.New(nil)
	defer mt.Close()
	h := mt.AddHost("n1")
	files := []nodeops.File{
		{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ntr a-z A-Z\n")},
		{Path: "lib/data.txt", Data: []byte("data")},
	}
	res, err := nodeops.Install(ctx, mt, "n1", "processing", files)
	require.NoError(t, err)
	assert.Equal(t, []string{"worker.sh", "lib/data.txt"}, res.Sent)
	assert.Empty(t, res.Skipped)
	assert.Equal(t, int64(len(files[0].Data)+len(files[1].Data)), res.Bytes)
	fi, err := h.Stat("processing/worker.sh")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
	fi, err = h.Stat("processing/lib/data.txt")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())

	puts := h.Stats().Puts
	files[1].Data = []byte("new data")
	res, err = nodeops.Install(ctx, mt, "n1", "processing", files)
	require.NoError(t, err)
	assert.Equal(t, []string{"lib/data.txt"}, res.Sent)
	assert.Equal(t, []string{"worker.sh"}, res.Skipped)
	assert.Equal(t, puts+1, h.Stats().Puts)
	got, err := h.ReadFile("processing/lib/data.txt")
	require.NoError(t, err)
	assert.Equal(t, "new data", string(got))

	_, err = nodeops.Install(ctx, mt, "n1", "", []nodeops.File{{Data: []byte("x")}})
	assert.ErrorIs(t, err, transport.ErrInvalid)
	_, err = nodeops.Install(ctx, mt, "nope", "", files)
	assert.ErrorIs(t, err, transport.ErrUnknownHost)
}

// plain hides the optional interfaces of a transport, to test the helpers'
// fallbacks.
type plain struct{ transport.Transport }

func TestHelpersFallBack(t *testing.T) {
	ctx := context.Background()
	mt := memtransport.New(nil)
	defer mt.Close()
	h := mt.AddHost("n1")
	require.NoError(t, h.WriteFile("a.txt", []byte("abc"), 0o644))
	p := plain{mt}

	sums, err := transport.Checksums(ctx, p, "n1", []string{"a.txt", "missing.txt"})
	assert.ErrorIs(t, err, fs.ErrNotExist, "a missing file is an error")
	assert.Equal(t, []string{"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ""}, sums)
	native, err := transport.Checksums(ctx, mt, "n1", []string{"a.txt", "missing.txt"})
	assert.ErrorIs(t, err, fs.ErrNotExist, "a missing file is an error")
	assert.Equal(t, sums, native)
	var oe *transport.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "missing.txt", oe.Path, "the error names the missing file")
	assert.Equal(t, `checksum on host "n1" "missing.txt": file does not exist`, err.Error())
	_, err = transport.Checksums(ctx, mt, "n1", []string{"m1", "a.txt", "m2"})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "2 of the 3 files are missing")

	require.NoError(t, transport.Ping(ctx, p, "n1"))
	h.SetDown(true)
	err = transport.Ping(ctx, p, "n1")
	assert.ErrorIs(t, err, transport.ErrLost)
	h.SetDown(false)

	require.NoError(t, transport.Remove(ctx, p, "n1", "a.txt"))
	_, err = h.ReadFile("a.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, transport.Remove(ctx, p, "n1", "a.txt"), "a missing file is not an error")
}

func TestPingWrapsFailuresAsLost(t *testing.T) {
	mt := memtransport.New(nil)
	defer mt.Close()
	mt.AddHost("n1")
	mt.Handle("true", func(ctx context.Context, p *memtransport.Process) int { return 1 })
	err := transport.Ping(context.Background(), plain{mt}, "n1")
	assert.ErrorIs(t, err, transport.ErrLost, "a host that cannot run true is not usable")
	// Rule R3: lost, and so not a failed command, with the status said.
	assert.NotErrorIs(t, err, transport.ErrFailed, "a lost error is not also a failed command")
	assert.True(t, transport.IsLost(err))
	var ee *transport.ExitError
	assert.False(t, errors.As(err, &ee), "Ping never wraps an ExitError in a lost error")
	assert.Equal(t, `ping on host "n1": host lost: probe command "true" exited with status 1`, err.Error())
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestErrInvalidIsShared(t *testing.T) {
	assert.Same(t, errdef.ErrInvalid, transport.ErrInvalid)
	err := (&transport.Command{}).Validate()
	assert.ErrorIs(t, err, errdef.ErrInvalid)
}

func TestHomeRel(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		invalid  bool
	}{
		{"", "", false},
		{"~", "", false},
		{"~/", "", false},
		{"~//", "", false},
		{"~/x", "x", false},
		{"~/x/y", "x/y", false},
		{"~//x", "x", false},
		{"x", "x", false},
		{"./~", "./~", false},
		{"x/~", "x/~", false},
		{"/abs/~", "/abs/~", false},
		{"~user", "", true},
		{"~user/x", "", true},
	} {
		got, err := transport.HomeRel(tc.in)
		if tc.invalid {
			assert.ErrorIs(t, err, transport.ErrInvalid, "HomeRel(%q)", tc.in)
			continue
		}
		require.NoError(t, err, "HomeRel(%q)", tc.in)
		assert.Equal(t, tc.want, got, "HomeRel(%q)", tc.in)
	}
}

// unwrap wraps a transport and exposes it with Unwrap.
type unwrap struct{ transport.Transport }

func (u unwrap) Unwrap() transport.Transport { return u.Transport }

// loop is a wrapper whose Unwrap chain never ends.
type loop struct{ transport.Transport }

func (l *loop) Unwrap() transport.Transport { return l }

// pinger is a Transport with its own Ping, to see which Ping is used.
type pinger struct {
	transport.Transport
	pings int
}

func (p *pinger) Ping(context.Context, string) error { p.pings++; return nil }

func TestCapabilityWalksUnwrap(t *testing.T) {
	mt := memtransport.New(&memtransport.Options{Hosts: []string{"n1"}})
	defer mt.Close()

	for _, tc := range []struct {
		name string
		tr   transport.Transport
		want bool
	}{
		{"the transport itself", mt, true},
		{"one Unwrap", unwrap{mt}, true},
		{"two Unwraps", unwrap{unwrap{mt}}, true},
		{"a wrapper that hides", plain{mt}, false},
		{"Unwrap to a wrapper that hides", unwrap{plain{mt}}, false},
		{"Unwrap to nil", unwrap{nil}, false},
		{"an endless chain", &loop{plain{mt}}, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := transport.Capability[transport.Checksummer](tc.tr)
			assert.Equal(t, tc.want, ok)
			if ok {
				assert.Same(t, mt, c, "the capability is the wrapped transport's")
			} else {
				assert.Nil(t, c)
			}
		})
	}

	// The first of the chain that has the capability is used.
	outer := &pinger{Transport: unwrap{mt}}
	require.NoError(t, transport.Ping(context.Background(), outer, "n1"))
	assert.Equal(t, 1, outer.pings, "the outer Pinger answers")
	inner := &pinger{Transport: mt}
	require.NoError(t, transport.Ping(context.Background(), unwrap{inner}, "n1"))
	assert.Equal(t, 1, inner.pings, "the Pinger found through Unwrap answers")
	assert.Zero(t, mt.Host("n1").Stats().Runs, "no command ran")
}

// The sha256sum fallback reads GNU's escaped names and asks Get about the
// files sha256sum could not read.
func TestChecksumsShellFallback(t *testing.T) {
	ctx := context.Background()
	mt := memtransport.New(&memtransport.Options{Hosts: []string{"n1"}})
	defer mt.Close()
	h := mt.AddHost("n1")
	names := []string{"plain", "back\\slash", "new\nline", "cr\rhere", "-dash", "two  spaces", "dup"}
	for _, n := range names {
		require.NoError(t, h.WriteFile(n, []byte(n), 0o644))
	}
	require.NoError(t, h.MkdirAll("adir"))
	paths := append(append([]string{}, names...), "dup", "~/plain")
	sums, err := transport.Checksums(ctx, plain{mt}, "n1", paths)
	require.NoError(t, err)
	for i, p := range paths {
		data, err := h.ReadFile(strings.TrimPrefix(p, "~/"))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), sums[i], "%q", p)
	}
	st := h.Stats()
	assert.Equal(t, int64(1), st.Runs, "one sha256sum")
	assert.Zero(t, st.Gets, "no Get when sha256sum read every file")

	_, err = transport.Checksums(ctx, plain{mt}, "n1", []string{"plain", "adir"})
	assert.Error(t, err, "a directory has no checksum")
	assert.NotErrorIs(t, err, fs.ErrNotExist, "a directory is not a missing file")

	// Garbage on standard output is an error, not a digest.
	mt.Handle("sha256sum", func(_ context.Context, p *memtransport.Process) int {
		fmt.Fprintln(p.Stdout, "not a digest line")
		return 0
	})
	_, err = transport.Checksums(ctx, plain{mt}, "n1", []string{"plain"})
	assert.ErrorContains(t, err, "unexpected sha256sum output")

	// Without sha256sum, Get and hash here.
	mt.Handle("sha256sum", func(_ context.Context, p *memtransport.Process) int {
		fmt.Fprintln(p.Stderr, "sh: sha256sum: not found")
		return 127
	})
	before := h.Stats().Gets
	sums2, err := transport.Checksums(ctx, plain{mt}, "n1", paths)
	require.NoError(t, err)
	assert.Equal(t, sums, sums2)
	assert.Equal(t, before+int64(len(paths)), h.Stats().Gets, "one Get per file")

	// Another failure of sha256sum is returned as it is.
	mt.Handle("sha256sum", func(_ context.Context, p *memtransport.Process) int { return 2 })
	_, err = transport.Checksums(ctx, plain{mt}, "n1", []string{"plain"})
	var ee *transport.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.Code)
}

// badChecksummer returns the wrong number of digests.
type badChecksummer struct{ transport.Transport }

func (badChecksummer) Checksum(context.Context, string, []string) ([]string, error) {
	return []string{"x"}, nil
}

func TestChecksumsRefusesAShortAnswer(t *testing.T) {
	mt := memtransport.New(&memtransport.Options{Hosts: []string{"n1"}})
	defer mt.Close()
	_, err := transport.Checksums(context.Background(), badChecksummer{mt}, "n1", []string{"a", "b"})
	assert.ErrorContains(t, err, "returned 1 digests for 2 files")
}

// The helpers refuse a nil Transport with an invalid-argument error naming
// the operation and the host, instead of panicking.
func TestHelpersNilTransport(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, msg string
		call      func() error
	}{
		{"ping", `ping on host "h1": invalid argument: nil Transport`, func() error { return transport.Ping(ctx, nil, "h1") }},
		{"remove", `remove on host "h1": invalid argument: nil Transport`, func() error { return transport.Remove(ctx, nil, "h1", "f") }},
		{"checksums", `checksum on host "h1": invalid argument: nil Transport`, func() error {
			sums, err := transport.Checksums(ctx, nil, "h1", []string{"f"})
			assert.Nil(t, sums)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.call() })
			require.ErrorIs(t, err, transport.ErrInvalid)
			assert.False(t, transport.IsLost(err), "a nil Transport is not a lost host")
			var oe *transport.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, "h1", oe.Host)
			assert.EqualError(t, err, tc.msg)
		})
	}
}
