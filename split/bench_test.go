package split_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"dproc/split"
)

var benchInput = sync.OnceValue(func() []byte { return lines(64 << 20) })

// BenchmarkEven splits 64 MiB of lines into 8 chunks; it reads all of it
// twice (count, then cut).
func BenchmarkEven(b *testing.B) {
	in := benchInput()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := split.Even(bytes.NewReader(in), int64(len(in)), 8, nil)
		if err := s.Split(context.Background(), func(split.Chunk) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvenCRLF is BenchmarkEven with a two-byte separator, which
// cannot use bytes.Count.
func BenchmarkEvenCRLF(b *testing.B) {
	in := bytes.ReplaceAll(benchInput(), []byte("\n"), []byte("\r\n"))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := split.Even(bytes.NewReader(in), int64(len(in)), 8, &split.Options{Separator: []byte("\r\n")})
		if err := s.Split(context.Background(), func(split.Chunk) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlocks cuts 64 MiB of lines into 1 MiB blocks; it reads only
// near the boundaries.
func BenchmarkBlocks(b *testing.B) {
	in := benchInput()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := split.Blocks(bytes.NewReader(in), int64(len(in)), 1<<20, nil)
		if err := s.Split(context.Background(), func(split.Chunk) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlocksBordered cuts paragraphs ("\n\n" can overlap itself), so
// Blocks must scan everything.
func BenchmarkBlocksBordered(b *testing.B) {
	in := benchInput()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := split.Blocks(bytes.NewReader(in), int64(len(in)), 1<<20, &split.Options{Separator: []byte("\n\n")})
		if err := s.Split(context.Background(), func(split.Chunk) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream cuts 64 MiB of lines read from a plain io.Reader into
// 1 MiB blocks, spooling each in memory and releasing it once yielded.
func BenchmarkStream(b *testing.B) {
	in := benchInput()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := split.Stream(onlyReader{bytes.NewReader(in)}, 1<<20, nil)
		if err := s.Split(context.Background(), func(c split.Chunk) error { c.Release(); return nil }); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkStreamSpill is BenchmarkStream with every chunk spooled to a
// temp file.
func BenchmarkStreamSpill(b *testing.B) {
	in := benchInput()
	dir := b.TempDir()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := split.Stream(onlyReader{bytes.NewReader(in)}, 1<<20, &split.Options{MemoryBudget: -1, TempDir: dir})
		if err := s.Split(context.Background(), func(c split.Chunk) error { c.Release(); return nil }); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
