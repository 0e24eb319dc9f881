package gather

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("y", 10000)
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty", in: "", want: nil},
		{name: "newline only", in: "\n", want: []string{""}},
		{name: "no final newline", in: "a\nb", want: []string{"a", "b"}},
		{name: "blank lines", in: "a\n\n\nb\n", want: []string{"a", "", "", "b"}},
		{name: "long lines", in: long + "\n" + long + "x", want: []string{long, long + "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tc.in), 16) // bufio's minimum
			var got []string
			for {
				l, err := lr.next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				got = append(got, string(l))
				assert.Equal(t, len(got), lr.line)
			}
			assert.Equal(t, tc.want, got)
			_, err := lr.next()
			assert.Equal(t, io.EOF, err, "EOF is sticky")
		})
	}
}

func TestSpoolRoundTrip(t *testing.T) {
	data := strings.Repeat("0123456789abcdef", 20000) // 320000 bytes, several blocks
	cases := []struct {
		name    string
		budget  int64
		spilled bool
	}{
		{name: "memory", budget: 1 << 20},
		{name: "spills midway", budget: 100 << 10, spilled: true},
		{name: "spills at once", budget: -1, spilled: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			b := newBudget(&Options{MemoryBudget: tc.budget, TempDir: tmp})
			s := newSpool(b)
			require.NoError(t, writePieces(randFor(t), s, data))
			require.NoError(t, s.seal())
			assert.Equal(t, tc.spilled, s.spilled())
			assert.Equal(t, int64(len(data)), s.size)
			var sb strings.Builder
			require.NoError(t, s.writeTo(&sb))
			assert.Equal(t, data, sb.String())
			rc, err := s.open()
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, data, string(got))
			require.NoError(t, s.free())
			require.NoError(t, s.free())
			assert.Zero(t, b.used.Load())
			assertNoFiles(t, tmp)
		})
	}
}
