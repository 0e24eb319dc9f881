package gather

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestFile returns a File gatherer writing to dir/out, with spill
// files in a directory of their own.
func newTestFile(t *testing.T, opts Options) (*FileGatherer, string, string) {
	t.Helper()
	dir, tmp := t.TempDir(), t.TempDir()
	opts.TempDir = tmp
	g, err := File(filepath.Join(dir, "out"), &opts)
	require.NoError(t, err)
	return g, filepath.Join(dir, "out"), tmp
}

func tempSize(t *testing.T, g *FileGatherer) int64 {
	t.Helper()
	fi, err := os.Stat(g.d.tmpPath)
	require.NoError(t, err)
	return fi.Size()
}

func write(t *testing.T, o Output, data string) {
	t.Helper()
	require.NoError(t, writePieces(randFor(t), o, data))
}

func newOutput(t *testing.T, g Gatherer, i int) Output {
	t.Helper()
	o, err := g.Output(i)
	require.NoError(t, err)
	return o
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func chunkData(i, size int) string { return strings.Repeat(string(rune('a'+i)), size) }

func TestFileWritesDueChunkThrough(t *testing.T) {
	const size = 300 << 10 // each chunk is far past the budget
	g, path, tmp := newTestFile(t, Options{MemoryBudget: 64 << 10, NoSync: true})
	var want strings.Builder
	for i := range 4 {
		o := newOutput(t, g, i)
		write(t, o, chunkData(i, size))
		assert.Equal(t, int64((i+1)*size), tempSize(t, g), "chunk %d is in the file before its Commit", i)
		assert.Zero(t, g.c.b.used.Load(), "chunk %d holds no memory", i)
		require.NoError(t, o.Commit())
		want.WriteString(chunkData(i, size))
	}
	require.NoError(t, g.Close(4, nil))
	assert.Zero(t, g.c.b.spills.Load(), "nothing spilled")
	assert.Equal(t, want.String(), readFile(t, path))
	assertNoFiles(t, tmp)
}

func TestFileChunkBecomingDueSwitchesToWriteThrough(t *testing.T) {
	const size = 200 << 10
	cases := []struct {
		name       string
		budget     int64
		wantSpills int64 // spill files made before chunk 1 became due
		done       bool  // chunk 1 is all written before it is due
	}{
		{name: "spooled in memory", budget: 1 << 20},
		{name: "spilled", budget: -1, wantSpills: 1},
		{name: "done before due", budget: 1 << 20, done: true},
		{name: "done and spilled before due", budget: -1, wantSpills: 1, done: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, path, tmp := newTestFile(t, Options{MemoryBudget: tc.budget, NoSync: true})
			o0, o1 := newOutput(t, g, 0), newOutput(t, g, 1)
			one := chunkData(1, size)
			early := size / 2
			if tc.done {
				early = size
			}
			write(t, o1, one[:early]) // early: spooled
			assert.Zero(t, tempSize(t, g))
			write(t, o0, chunkData(0, size))
			require.NoError(t, o0.Commit())
			assert.Equal(t, int64(size), tempSize(t, g))

			if !tc.done {
				write(t, o1, one[early:]) // due now: its spool moves to the file
				assert.Equal(t, int64(2*size), tempSize(t, g))
				assert.Zero(t, g.c.b.used.Load(), "the spool is freed")
				assert.Zero(t, countFiles(t, tmp), "the spill file is removed")
			}
			require.NoError(t, o1.Commit())
			assert.Equal(t, int64(2*size), tempSize(t, g))
			assert.Zero(t, countFiles(t, tmp))
			require.NoError(t, g.Close(2, nil))
			assert.Equal(t, tc.wantSpills, g.c.b.spills.Load())
			assert.Equal(t, chunkData(0, size)+one, readFile(t, path))
		})
	}
}

func TestFileEarlyChunksStayWithinBudget(t *testing.T) {
	const size, budget = 60 << 10, 80 << 10
	g, path, tmp := newTestFile(t, Options{MemoryBudget: budget, NoSync: true})
	for _, i := range []int{3, 1, 2} {
		doStep(t, g, step{index: i, data: chunkData(i, size)})
		assert.LessOrEqual(t, g.c.b.used.Load(), int64(budget))
	}
	assert.Equal(t, int64(2), g.c.b.spills.Load(), "one early chunk fits the budget, two spill")
	assert.Equal(t, 2, countFiles(t, tmp))
	assert.Zero(t, tempSize(t, g), "nothing is due before chunk 0")

	o := newOutput(t, g, 0)
	write(t, o, chunkData(0, 5*size))
	assert.Equal(t, int64(2), g.c.b.spills.Load(), "the chunk due goes straight to the file")
	require.NoError(t, o.Commit())
	require.NoError(t, g.Close(4, nil))
	assert.Equal(t, chunkData(0, 5*size)+chunkData(1, size)+chunkData(2, size)+chunkData(3, size), readFile(t, path))
	assertNoFiles(t, tmp)
	assert.Zero(t, g.c.b.used.Load())
}

func TestFileFailedDueAttemptLeavesNoBytes(t *testing.T) {
	cases := []struct {
		name string
		// run gets the gatherer and a failing attempt at chunk 0 holding
		// the lease and returns the winning attempt at chunk 0.
		run  func(t *testing.T, g *FileGatherer, bad Output) Output
		held bool // run commits chunk 1 first
	}{
		{name: "retry after discard", run: func(t *testing.T, g *FileGatherer, bad Output) Output {
			bad.Discard()
			return newOutput(t, g, 0)
		}},
		{name: "held chunk waits for the retry", run: func(t *testing.T, g *FileGatherer, bad Output) Output {
			doStep(t, g, step{index: 1, data: "second\n"})
			bad.Discard()
			return newOutput(t, g, 0)
		}, held: true},
		{name: "a copy being written takes over", run: func(t *testing.T, g *FileGatherer, bad Output) Output {
			spare := newOutput(t, g, 0)
			write(t, spare, "good ")
			bad.Discard()
			return spare
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, path, tmp := newTestFile(t, Options{MemoryBudget: 64 << 10, NoSync: true})
			bad := newOutput(t, g, 0)
			write(t, bad, strings.Repeat("garbage\n", 40<<10))
			require.NotZero(t, tempSize(t, g), "the due attempt writes through")

			good := tc.run(t, g, bad)
			assert.Zero(t, tempSize(t, g), "the failed attempt's bytes are cut off")
			write(t, good, "good chunk\n")
			require.NoError(t, good.Commit())
			if !tc.held {
				doStep(t, g, step{index: 1, data: "second\n"})
			}
			require.NoError(t, g.Close(2, nil))
			assert.True(t, strings.HasSuffix(readFile(t, path), "good chunk\nsecond\n"))
			assert.NotContains(t, readFile(t, path), "garbage")
			assertNoFiles(t, tmp)
		})
	}
}

func TestFileDuplicateAttemptsGiveChunkOnce(t *testing.T) {
	long := strings.Repeat("through\n", 30<<10) // longer than the copy: truncation matters
	cases := []struct {
		name string
		// holderWrites is what the lease holder writes before the spooled
		// copy commits; rest is written after.
		holderWrites, rest string
		copyFirst          bool // the spooled copy commits first
		want               string
	}{
		{name: "holder commits first", holderWrites: long, want: long},
		{name: "copy commits while holder writes", holderWrites: long, rest: long, copyFirst: true, want: "copy\n"},
		{name: "copy commits before holder writes", rest: long, copyFirst: true, want: "copy\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, path, tmp := newTestFile(t, Options{MemoryBudget: 64 << 10, NoSync: true})
			doStep(t, g, step{index: 1, data: "next\n"})
			holder, cp := newOutput(t, g, 0), newOutput(t, g, 0)
			write(t, cp, "copy\n")
			if tc.holderWrites != "" {
				write(t, holder, tc.holderWrites)
			}
			if tc.copyFirst {
				require.NoError(t, cp.Commit())
				assert.Equal(t, "copy\nnext\n", readTemp(t, g), "the holder's bytes are cut off")
				write(t, holder, tc.rest)
				assert.ErrorIs(t, holder.Commit(), ErrDuplicate)
			} else {
				require.NoError(t, holder.Commit())
				assert.ErrorIs(t, cp.Commit(), ErrDuplicate)
			}
			require.NoError(t, g.Close(2, nil))
			assert.Equal(t, tc.want+"next\n", readFile(t, path))
			assertNoFiles(t, tmp)
			assert.Zero(t, g.c.b.used.Load())
		})
	}
}

func readTemp(t *testing.T, g *FileGatherer) string {
	t.Helper()
	return readFile(t, g.d.tmpPath)
}

func TestFileWriteThroughError(t *testing.T) {
	cases := []struct {
		name  string
		early bool // the attempt spools before its chunk is due, and moves its spool into the file
	}{
		{name: "writing through"},
		{name: "moving the spool in", early: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, path, tmp := newTestFile(t, Options{NoSync: true})
			doStep(t, g, step{index: 2, data: "held"})
			o := newOutput(t, g, 1)
			if tc.early {
				write(t, o, "spooled")
			}
			doStep(t, g, step{index: 0, data: "first"})
			require.NoError(t, g.d.f.Close()) // every write to the file fails from now on
			for range 2 {
				n, err := io.WriteString(o, "lost")
				require.NoError(t, err, "the error is the Commit's to report")
				assert.Equal(t, 4, n)
			}
			err := o.Commit()
			require.ErrorIs(t, err, os.ErrClosed)
			assert.Contains(t, err.Error(), "writing chunk 1")
			_, err = g.Output(3)
			require.ErrorIs(t, err, os.ErrClosed, "the run has failed")
			require.ErrorIs(t, g.Close(3, nil), os.ErrClosed)
			assert.NoFileExists(t, path)
			assert.NoFileExists(t, g.d.tmpPath)
			assertNoFiles(t, tmp)
			assert.Zero(t, g.c.b.used.Load())
		})
	}
}

func TestFileSyncsAndWritesBack(t *testing.T) {
	const size = 100 << 10
	cases := []struct {
		name           string
		noSync         bool
		wantSyncs      int32
		wantWriteBacks bool
	}{
		{name: "sync", wantSyncs: 2, wantWriteBacks: writeBackSupported}, // the file, then its directory
		{name: "nosync", noSync: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, path, _ := newTestFile(t, Options{MemoryBudget: 64 << 10, NoSync: tc.noSync})
			g.d.wbStep = 64 << 10
			var want strings.Builder
			for _, i := range []int{2, 0, 1, 3} { // held and written-through chunks
				doStep(t, g, step{index: i, data: chunkData(i, size)})
			}
			for i := range 4 {
				want.WriteString(chunkData(i, size))
			}
			assert.Zero(t, g.d.syncs.Load(), "no fsync before Close")
			require.NoError(t, g.Close(4, nil))
			assert.Equal(t, tc.wantSyncs, g.d.syncs.Load())
			assert.Equal(t, tc.wantWriteBacks, g.d.writeBacks.Load() > 0)
			assert.Equal(t, want.String(), readFile(t, path), "write-back leaves the bytes alone")
		})
	}
}

// TestFileConcurrentWriteThrough runs three attempts at every chunk at
// once, with chunks bigger than the budget: one fails halfway, two race
// to commit. Leases change hands, are revoked and truncated back, and the
// file still holds every chunk exactly once, in order.
func TestFileConcurrentWriteThrough(t *testing.T) {
	const n = 16
	r := randFor(t)
	chunks := make([]string, n)
	for i := range chunks {
		chunks[i] = strings.Repeat(fmt.Sprintf("chunk %d\n", i), 2000+r.IntN(20000))
	}
	g, path, tmp := newTestFile(t, Options{MemoryBudget: 64 << 10, NoSync: true})
	var wg sync.WaitGroup
	wins := make([]atomic.Int32, n)
	errs := make(chan error, 3*n)
	for i := range n {
		for a := range 3 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), uint64(a)))
				o, err := g.Output(i)
				if err != nil {
					errs <- err
					return
				}
				if a == 0 {
					errs <- writePieces(r, o, "garbage\n"+chunks[i][:len(chunks[i])/2])
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
	assert.Equal(t, strings.Join(chunks, ""), readFile(t, path))
	assertNoFiles(t, tmp)
	assert.Zero(t, g.c.b.used.Load())
}
