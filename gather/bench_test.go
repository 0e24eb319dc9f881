package gather

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// benchChunks returns n chunks of size bytes of text lines.
func benchChunks(n, size int) [][]byte {
	line := []byte("the quick brown fox jumps over the lazy dog 0123456789\n")
	chunks := make([][]byte, n)
	for i := range chunks {
		c := make([]byte, 0, size)
		for len(c) < size {
			c = append(c, line[:min(len(line), size-len(c))]...)
		}
		chunks[i] = c
	}
	return chunks
}

// runShuffled writes each chunk to its Output in 32 KiB writes (as
// io.Copy does) and commits the chunks in a shuffled order.
func runShuffled(b *testing.B, g Gatherer, chunks [][]byte, order []int) {
	for _, i := range order {
		o, err := g.Output(i)
		if err != nil {
			b.Fatal(err)
		}
		for c := chunks[i]; len(c) > 0; {
			n := min(len(c), 32<<10)
			if _, err := o.Write(c[:n]); err != nil {
				b.Fatal(err)
			}
			c = c[n:]
		}
		if err := o.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if err := g.Close(len(chunks), nil); err != nil {
		b.Fatal(err)
	}
}

func benchOrder(n int) []int {
	return rand.New(rand.NewPCG(1, 1)).Perm(n)
}

func BenchmarkOrdered(b *testing.B) {
	for _, bc := range []struct {
		name   string
		budget int64
	}{{"default-budget", 0}, {"memory-128MiB", 128 << 20}, {"spill-8MiB", 8 << 20}} {
		b.Run(bc.name, func(b *testing.B) {
			chunks := benchChunks(64, 1<<20)
			order := benchOrder(len(chunks))
			tmp := b.TempDir()
			b.SetBytes(64 << 20)
			b.ReportAllocs()
			for b.Loop() {
				runShuffled(b, Ordered(io.Discard, &Options{MemoryBudget: bc.budget, TempDir: tmp}), chunks, order)
			}
		})
	}
}

func BenchmarkFile(b *testing.B) {
	for _, bc := range []struct {
		name   string
		noSync bool
	}{{"sync", false}, {"nosync", true}} {
		b.Run(bc.name, func(b *testing.B) {
			chunks := benchChunks(64, 1<<20)
			order := benchOrder(len(chunks))
			dir := b.TempDir()
			b.SetBytes(64 << 20)
			b.ReportAllocs()
			for b.Loop() {
				g, err := File(filepath.Join(dir, "out"), &Options{NoSync: bc.noSync, TempDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				runShuffled(b, g, chunks, order)
			}
		})
	}
}

func BenchmarkMerge(b *testing.B) {
	const n = 64
	r := rand.New(rand.NewPCG(2, 2))
	chunks := make([][]byte, n)
	total := 0
	for i := range chunks {
		lines := make([]string, 4096) // about 16 bytes each: 64 KiB a chunk
		for j := range lines {
			lines[j] = fmt.Sprintf("%015d\n", r.Int64N(1e15))
		}
		slices.Sort(lines)
		var buf bytes.Buffer
		for _, l := range lines {
			buf.WriteString(l)
		}
		chunks[i] = buf.Bytes()
		total += buf.Len()
	}
	order := benchOrder(n)
	for _, fanIn := range []int{128, 8} {
		b.Run(fmt.Sprintf("fanin-%d", fanIn), func(b *testing.B) {
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				runShuffled(b, Merge(io.Discard, bytes.Compare, &Options{FanIn: fanIn}), chunks, order)
			}
		})
	}
}

func BenchmarkReduce(b *testing.B) {
	const n = 32
	r := rand.New(rand.NewPCG(3, 3))
	chunks := make([][]byte, n)
	total := 0
	for i := range chunks {
		var buf bytes.Buffer
		for range 8192 {
			fmt.Fprintf(&buf, "word%d\t1\n", r.IntN(5000))
		}
		chunks[i] = buf.Bytes()
		total += buf.Len()
	}
	order := benchOrder(n)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		runShuffled(b, Reduce(io.Discard, Sum, nil), chunks, order)
	}
}

// BenchmarkFileBigChunks commits 32 MiB chunks, written in 32 KiB pieces
// the way a transport copies a worker's output, to a File with the
// default memory budget: in chunk order, in reverse order (every chunk but
// the last arrives early) and shuffled, without fsync; and in order with
// the fsync (and the write-back started as chunks commit). In order,
// every chunk is the one due next and goes straight to the destination.
func BenchmarkFileBigChunks(b *testing.B) {
	const n, size = 4, 32 << 20
	chunks := benchChunks(n, size)
	rev := make([]int, n)
	for i := range rev {
		rev[i] = n - 1 - i
	}
	inOrder := []int{0, 1, 2, 3}
	for _, bc := range []struct {
		name  string
		order []int
		sync  bool
	}{{"in-order", inOrder, false}, {"reverse", rev, false}, {"shuffled", benchOrder(n), false}, {"in-order-sync", inOrder, true}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(n * size)
			b.ReportAllocs()
			for b.Loop() {
				g, err := File(filepath.Join(dir, "out"), &Options{NoSync: !bc.sync, TempDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				runShuffled(b, g, chunks, bc.order)
			}
		})
	}
}
