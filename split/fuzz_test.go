package split_test

import (
	"bytes"
	"os"
	"testing"

	"dproc/split"
)

func fuzzSeeds(f *testing.F, add func(data []byte, size uint16, sep uint8, header bool)) {
	for i, in := range edgeInputs {
		add([]byte(in.input), uint16(i%5+1), uint8(i), i%2 == 0)
	}
	add(lines(10<<10), 300, 0, true)
	add([]byte("ab\naba\nababa\n\n\nabab"), 2, 4, false)
}

func FuzzEven(f *testing.F) {
	fuzzSeeds(f, func(data []byte, n uint16, sep uint8, header bool) { f.Add(data, n, sep, header) })
	f.Fuzz(func(t *testing.T, data []byte, n uint16, sepIdx uint8, header bool) {
		sep := separators[int(sepIdx)%len(separators)]
		k := int(n%200) + 1
		s := split.Even(bytes.NewReader(data), int64(len(data)), k, &split.Options{Separator: []byte(sep), Header: header})
		if err := check(s, data, sep, header); err != nil {
			t.Fatalf("Even n=%d sep=%q header=%v: %v", k, sep, header, err)
		}
		if err := checkEven(collect(t, s), data, sep, header, k); err != nil {
			t.Fatalf("Even n=%d sep=%q header=%v: %v", k, sep, header, err)
		}
	})
}

func FuzzBlocks(f *testing.F) {
	fuzzSeeds(f, func(data []byte, block uint16, sep uint8, header bool) { f.Add(data, block, sep, header) })
	f.Fuzz(func(t *testing.T, data []byte, block uint16, sepIdx uint8, header bool) {
		sep := separators[int(sepIdx)%len(separators)]
		b := int64(block) + 1
		s := split.Blocks(bytes.NewReader(data), int64(len(data)), b, &split.Options{Separator: []byte(sep), Header: header})
		if err := check(s, data, sep, header); err != nil {
			t.Fatalf("Blocks block=%d sep=%q header=%v: %v", b, sep, header, err)
		}
		if err := checkBlocks(collect(t, s), data, sep, header, b); err != nil {
			t.Fatalf("Blocks block=%d sep=%q header=%v: %v", b, sep, header, err)
		}
	})
}

func FuzzStream(f *testing.F) {
	fuzzSeeds(f, func(data []byte, block uint16, sep uint8, header bool) { f.Add(data, block, sep, header) })
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, block uint16, sepIdx uint8, header bool) {
		sep := separators[int(sepIdx)%len(separators)]
		b := int64(block%512) + 1
		// The read size and the budget vary with the block, so that reads
		// end inside separators and, one time in four, chunks spill to disk.
		read := int(block%13) + 1
		budget := int64(0)
		if block%4 == 0 {
			budget = int64(block % 1000)
		}
		opts := &split.Options{Separator: []byte(sep), Header: header, MemoryBudget: budget, TempDir: dir}
		mk := func() *split.StreamSplitter {
			return split.Stream(&chunkyReader{bytes.NewReader(data), read}, b, opts)
		}
		s := mk()
		if err := check(s, data, sep, header); err != nil {
			t.Fatalf("Stream block=%d read=%d sep=%q header=%v: %v", b, read, sep, header, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mk()
		err := checkBlocks(collect(t, s), data, sep, header, b)
		if cerr := s.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil {
			t.Fatalf("Stream block=%d sep=%q header=%v: %v", b, sep, header, err)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
			t.Fatalf("after Close: %d files in TempDir (%v)", len(entries), err)
		}
	})
}
