package split_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"dproc/split"
)

// show prints each chunk of s.
func show(s split.Splitter) {
	err := s.Split(context.Background(), func(c split.Chunk) error {
		r, err := c.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		fmt.Printf("chunk %d offset=%d size=%d records=%d %q\n", c.Index, c.Offset, c.Size, c.Records, b)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Even cuts 5 lines into 3 chunks: 2, 2 and 1 lines (split -l 1 would
// have made 5 chunks of 1 line, and split -n 3 would cut lines apart).
func ExampleEven() {
	input := "one\ntwo\nthree\nfour\nfive\n"
	show(split.Even(strings.NewReader(input), int64(len(input)), 3, nil))
	// Output:
	// chunk 0 offset=0 size=8 records=2 "one\ntwo\n"
	// chunk 1 offset=8 size=11 records=2 "three\nfour\n"
	// chunk 2 offset=19 size=5 records=1 "five\n"
}

// With Header, a CSV header goes at the start of every chunk; the CRLF
// line ends are kept as they are.
func ExampleEven_header() {
	input := "id,name\r\n1,ann\r\n2,bob\r\n3,cy\r\n"
	opts := &split.Options{Header: true, Separator: []byte("\r\n")}
	show(split.Even(strings.NewReader(input), int64(len(input)), 2, opts))
	// Output:
	// chunk 0 offset=9 size=23 records=2 "id,name\r\n1,ann\r\n2,bob\r\n"
	// chunk 1 offset=23 size=15 records=1 "id,name\r\n3,cy\r\n"
}

// Blocks cuts at the end of the first line that reaches each block's size;
// a line longer than a block stays whole.
func ExampleBlocks() {
	input := "aaaa\nbb\nc\ndddddddddd\ne"
	show(split.Blocks(strings.NewReader(input), int64(len(input)), 6, nil))
	// Output:
	// chunk 0 offset=0 size=8 records=-1 "aaaa\nbb\n"
	// chunk 1 offset=8 size=13 records=-1 "c\ndddddddddd\n"
	// chunk 2 offset=21 size=1 records=-1 "e"
}

func ExampleBlockSizeFor() {
	fmt.Println(split.BlockSizeFor(1<<30, 6)) // 1 GiB over 6 slots: capped
	fmt.Println(split.BlockSizeFor(1<<20, 4)) // 1 MiB over 4 slots
	fmt.Println(split.BlockSizeFor(1000, 4))  // tiny input: the minimum
	// Output:
	// 33554432
	// 262144
	// 65536
}

// Stream cuts a non-seekable input, here NUL-terminated records, as it
// reads it. Close removes any spooled chunk.
func ExampleStream() {
	input := strings.NewReader("a\x00bb\x00ccc\x00dddd\x00")
	s := split.Stream(input, 4, &split.Options{Separator: []byte{0}})
	defer s.Close()
	show(s)
	// Output:
	// chunk 0 offset=0 size=5 records=-1 "a\x00bb\x00"
	// chunk 1 offset=5 size=4 records=-1 "ccc\x00"
	// chunk 2 offset=9 size=5 records=-1 "dddd\x00"
}

// Items puts two file names in each chunk, one per line.
func ExampleItems() {
	show(split.Items([]string{"a.log", "b.log", "c.log"}, 2, nil))
	// Output:
	// chunk 0 offset=-1 size=12 records=2 "a.log\nb.log\n"
	// chunk 1 offset=-1 size=6 records=1 "c.log\n"
}

func ExampleBlocksFile() {
	dir, err := os.MkdirTemp("", "split-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := dir + "/in.txt"
	if err := os.WriteFile(path, []byte("x\ny\nz\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	s, f, err := split.BlocksFile(path, 4, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	show(s)
	// Output:
	// chunk 0 offset=0 size=4 records=-1 "x\ny\n"
	// chunk 1 offset=4 size=2 records=-1 "z\n"
}

// A pipe (here standard input of `producer | prog`, stood in for by
// a reader) is streamed, and splits as a file of the same bytes would.
func ExampleNewInput() {
	in, err := split.NewInput("standard input", strings.NewReader("x\ny\nz\n"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	fmt.Println("streamed:", in.Streamed(), "size:", in.Size())
	show(in.Blocks(4))
	// Output:
	// streamed: true size: -1
	// chunk 0 offset=0 size=4 records=-1 "x\ny\n"
	// chunk 1 offset=4 size=2 records=-1 "z\n"
}

func ExampleOpenInput() {
	dir, err := os.MkdirTemp("", "split-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := dir + "/in.txt"
	if err := os.WriteFile(path, []byte("x\ny\nz\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	in, err := split.OpenInput(path, nil) // or "-" for standard input
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	block := int64(4) // or split.BlockSizeFor(in.Size(), slots) when !in.Streamed()
	fmt.Println("streamed:", in.Streamed(), "size:", in.Size())
	show(in.Blocks(block))
	// Output:
	// streamed: false size: 6
	// chunk 0 offset=0 size=4 records=-1 "x\ny\n"
	// chunk 1 offset=4 size=2 records=-1 "z\n"
}
