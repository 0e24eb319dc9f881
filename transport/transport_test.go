package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	lost := &transport.OpError{Op: "run", Host: "n2", Err: transport.LostError(io.ErrUnexpectedEOF)}
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

	assert.Equal(t, transport.ErrLost, transport.LostError(nil))
	assert.Same(t, lost.Err, transport.LostError(lost.Err), "not wrapped twice")

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
	files := []transport.File{
		{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ntr a-z A-Z\n")},
		{Path: "lib/data.txt", Data: []byte("data")},
	}
	res, err := transport.Install(ctx, mt, "n1", "processing", files)
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
	res, err = transport.Install(ctx, mt, "n1", "processing", files)
	require.NoError(t, err)
	assert.Equal(t, []string{"lib/data.txt"}, res.Sent)
	assert.Equal(t, []string{"worker.sh"}, res.Skipped)
	assert.Equal(t, puts+1, h.Stats().Puts)
	got, err := h.ReadFile("processing/lib/data.txt")
	require.NoError(t, err)
	assert.Equal(t, "new data", string(got))

	_, err = transport.Install(ctx, mt, "n1", "", []transport.File{{Data: []byte("x")}})
	assert.ErrorIs(t, err, transport.ErrInvalid)
	_, err = transport.Install(ctx, mt, "nope", "", files)
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
	require.NoError(t, err)
	assert.Equal(t, []string{"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ""}, sums)
	native, err := transport.Checksums(ctx, mt, "n1", []string{"a.txt", "missing.txt"})
	require.NoError(t, err)
	assert.Equal(t, sums, native)

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
	assert.True(t, errors.Is(err, transport.ErrFailed))
}
