package sshtransport

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemuxCutsAtMarks feeds demux streams of several commands, with the
// end marks and look-alikes of them (a NUL, a prefix of the mark) placed
// anywhere and the stream cut into writes at random: every command gets
// exactly its own bytes and every end its fields.
func TestDemuxCutsAtMarks(t *testing.T) {
	mark := "\x00" + newToken() + ":"
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 500; round++ {
		d := newDemux(mark)
		// The loop writes a command's output and end, and nothing more
		// until the next command starts.
		for i := 0; i < 1+rng.IntN(4); i++ {
			var o strings.Builder
			for j := 0; j < rng.IntN(6); j++ {
				switch rng.IntN(5) {
				case 0:
					o.WriteString(mark[:1+rng.IntN(len(mark)-1)]) // a prefix only
				case 1:
					o.WriteByte(0)
				case 2:
					o.WriteString(strings.Repeat("x", rng.IntN(5000)))
				case 3:
					o.WriteString("y" + mark[1:]) // never after a NUL
				default:
					o.WriteString("line\n")
				}
			}
			fields := " 0 " + string(rune('0'+i)) + " -"
			data := []byte(o.String() + mark + fields + "\n")
			var cur bytes.Buffer
			d.start(&cur)
			for len(data) > 0 {
				n := 1 + rng.IntN(min(len(data), 1+rng.IntN(64)))
				if rng.IntN(10) == 0 {
					n = len(data)
				}
				k, err := d.Write(data[:n])
				require.NoError(t, err)
				require.Equal(t, n, k)
				data = data[n:]
				if len(data) > 0 {
					require.Empty(t, d.ends, "an end before the mark was written")
				}
			}
			require.Len(t, d.ends, 1)
			assert.Equal(t, fields, <-d.ends)
			require.Equal(t, o.String(), cur.String(), "round %d command %d", round, i)
			d.start(nil)
		}
	}
}

// TestParseEnd reads the fields of a command's end.
func TestParseEnd(t *testing.T) {
	code, unread, sig, err := parseEnd(" 143 10 TERM")
	require.NoError(t, err)
	assert.Equal(t, 143, code)
	assert.Equal(t, int64(10), unread)
	assert.Equal(t, "TERM", sig)
	code, _, sig, err = parseEnd(" 3 0 -")
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.Empty(t, sig)
	for _, bad := range []string{"", " ready", " x 0 -", " 0 y -", " 1 2 3 4"} {
		_, _, _, err := parseEnd(bad)
		assert.Error(t, err, "%q", bad)
	}
}
