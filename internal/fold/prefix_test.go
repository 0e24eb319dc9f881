package fold

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		close  bool
		want   string
	}{
		{"one line", []string{"a\n"}, false, "n1: a\n"},
		{"several lines in one write", []string{"a\nb\nc\n"}, false, "n1: a\nn1: b\nn1: c\n"},
		{"a line in pieces", []string{"he", "llo", " world\n"}, false, "n1: hello world\n"},
		{"partial line held", []string{"a\nb"}, false, "n1: a\n"},
		{"partial line written at close, with a newline", []string{"a\nb"}, true, "n1: a\nn1: b\n"},
		{"empty lines kept", []string{"\n\nx\n"}, false, "n1: \nn1: \nn1: x\n"},
		{"nothing", nil, true, ""},
		{"empty write", []string{""}, true, ""},
		{"carriage return is text", []string{"a\r\n"}, false, "n1: a\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewPrefixer(&out, ": ").Writer("n1")
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				require.NoError(t, err)
				assert.Equal(t, len(s), n)
			}
			if tt.close {
				require.NoError(t, w.Close())
			}
			assert.Equal(t, tt.want, out.String())
		})
	}
}

func TestLineWriterTabSeparator(t *testing.T) {
	var out bytes.Buffer
	w := NewPrefixer(&out, "\t").Writer("a b")
	_, err := w.Write([]byte("x\n"))
	require.NoError(t, err)
	assert.Equal(t, "a b\tx\n", out.String())
}

func TestLineWriterLongLine(t *testing.T) {
	var out bytes.Buffer
	w := NewPrefixer(&out, ": ").Writer("n1")
	long := strings.Repeat("x", MaxLine*2+10)
	// In small writes, then a newline.
	for i := 0; i < len(long); i += 1000 {
		_, err := w.Write([]byte(long[i:min(i+1000, len(long))]))
		require.NoError(t, err)
	}
	_, err := w.Write([]byte("\nshort\n"))
	require.NoError(t, err)
	want := "n1: " + long[:MaxLine] + "\n" + "n1: " + long[MaxLine:2*MaxLine] + "\n" + "n1: " + long[2*MaxLine:] + "\n" + "n1: short\n"
	assert.Equal(t, want, out.String())

	// One write holding a line longer than MaxLine and its newline.
	out.Reset()
	_, err = w.Write([]byte(strings.Repeat("y", MaxLine+1) + "\n"))
	require.NoError(t, err)
	assert.Equal(t, "n1: "+strings.Repeat("y", MaxLine)+"\nn1: y\n", out.String())

	// A partial line held, then a newline that makes it too long.
	out.Reset()
	_, err = w.Write([]byte(strings.Repeat("z", MaxLine-1)))
	require.NoError(t, err)
	_, err = w.Write([]byte("zz\n"))
	require.NoError(t, err)
	assert.Equal(t, "n1: "+strings.Repeat("z", MaxLine)+"\nn1: z\n", out.String())
}

func TestLineWriterClose(t *testing.T) {
	var out bytes.Buffer
	w := NewPrefixer(&out, ": ").Writer("n1")
	_, err := w.Write([]byte("a"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "closing twice")
	n, err := w.Write([]byte("b\n"))
	assert.ErrorIs(t, err, ErrClosed)
	assert.Zero(t, n)
	assert.Equal(t, "n1: a\n", out.String())
}

// countingFail fails every write from the n-th on.
type countingFail struct {
	out   bytes.Buffer
	n     int
	calls int
	err   error
}

func (c *countingFail) Write(b []byte) (int, error) {
	c.calls++
	if c.calls >= c.n {
		return 0, c.err
	}
	return c.out.Write(b)
}

func TestPrefixerErrorIsSticky(t *testing.T) {
	boom := errors.New("boom")
	dst := &countingFail{n: 2, err: boom}
	p := NewPrefixer(dst, ": ")
	a, b := p.Writer("a"), p.Writer("b")
	_, err := a.Write([]byte("1\n"))
	require.NoError(t, err)
	_, err = b.Write([]byte("2\n"))
	assert.ErrorIs(t, err, boom)
	_, err = a.Write([]byte("3\n"))
	assert.ErrorIs(t, err, boom, "later writes fail too")
	_, err = a.Write([]byte("partial"))
	assert.NoError(t, err, "nothing to write yet")
	assert.ErrorIs(t, a.Close(), boom)
	assert.Equal(t, 2, dst.calls, "no write reaches the destination after it failed")
	assert.Equal(t, "a: 1\n", dst.out.String())
}

// TestPrefixerConcurrent writes many hosts' lines at once, in odd-sized
// pieces, and checks that every output line is one whole line of one
// host, and that each host's lines keep their order.
func TestPrefixerConcurrent(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixer(&out, ": ")
	const hosts, lines = 8, 200
	var wg sync.WaitGroup
	for h := 0; h < hosts; h++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := p.Writer(fmt.Sprintf("host%d", h))
			var all strings.Builder
			for i := 0; i < lines; i++ {
				fmt.Fprintf(&all, "line %d of host %d %s\n", i, h, strings.Repeat("-", i%17))
			}
			s := all.String()
			for i, size := 0, 1; i < len(s); i, size = i+size, size%13+1 {
				_, err := w.Write([]byte(s[i:min(i+size, len(s))]))
				assert.NoError(t, err)
			}
			assert.NoError(t, w.Close())
		}()
	}
	wg.Wait()
	next := make([]int, hosts)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, got, hosts*lines)
	for _, l := range got {
		var h, h2, i int
		var dashes string
		_, err := fmt.Sscanf(l, "host%d: line %d of host %d %s", &h, &i, &h2, &dashes)
		if i%17 == 0 {
			_, err = fmt.Sscanf(l, "host%d: line %d of host %d", &h, &i, &h2)
		}
		require.NoError(t, err, l)
		require.Equal(t, h, h2, l)
		require.Equal(t, next[h], i, l)
		require.Equal(t, fmt.Sprintf("host%d: line %d of host %d %s", h, i, h, strings.Repeat("-", i%17)), l)
		next[h]++
	}
}
