package gather

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sortedChunk returns lines "key<TAB>value" sorted by key, with keys
// shared between chunks.
func sortedChunk(r *rand.Rand, lines int) string {
	keys := make([]string, lines)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%04d\t%d\n", r.IntN(500), r.IntN(100))
	}
	slices.Sort(keys)
	return strings.Join(keys, "")
}

// writePieces writes s to w in random small pieces.
func writePieces(r *rand.Rand, w io.Writer, s string) error {
	for len(s) > 0 {
		n := min(len(s), 1+r.IntN(3000))
		if _, err := io.WriteString(w, s[:n]); err != nil {
			return err
		}
		s = s[n:]
	}
	return nil
}

func TestConcurrentAttempts(t *testing.T) {
	const (
		n        = 48
		attempts = 3
	)
	r := rand.New(rand.NewPCG(1, 2))
	chunks := make([]string, n)
	for i := range chunks {
		chunks[i] = sortedChunk(r, r.IntN(400))
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			tmp := t.TempDir()
			g, result := k.make(t, &Options{MemoryBudget: 64 << 10, TempDir: tmp, NoSync: true, FanIn: 5})
			var wg sync.WaitGroup
			wins := make([]atomic.Int32, n)
			errs := make(chan error, n*attempts)
			for i := range n {
				for a := range attempts {
					wg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(i), uint64(a)))
						o, err := g.Output(i)
						if err != nil {
							errs <- err
							return
						}
						if a == 0 { // a failed attempt: partial garbage, discarded
							errs <- writePieces(r, o, "garbage\tline\n"+chunks[i][:len(chunks[i])/2])
							o.Discard()
							return
						}
						if err := writePieces(r, o, chunks[i]); err != nil {
							errs <- err
							return
						}
						switch err := o.Commit(); {
						case err == nil:
							wins[i].Add(1)
						case !errors.Is(err, ErrDuplicate):
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for i := range wins {
				require.Equal(t, int32(1), wins[i].Load(), "chunk %d committed once", i)
			}
			require.NoError(t, g.Close(n, nil))
			out, _ := result()
			assert.Equal(t, k.expect(chunks), out)
			assertNoFiles(t, tmp)
		})
	}
}

func randFor(t *testing.T) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(len(t.Name())), 7))
}
