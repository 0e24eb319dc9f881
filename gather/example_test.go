package gather_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"dproc/gather"
)

// commit writes data as one attempt at chunk i and commits it.
func commit(g gather.Gatherer, i int, data string) {
	out, err := g.Output(i)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(out, data); err != nil {
		log.Fatal(err)
	}
	if err := out.Commit(); err != nil {
		log.Fatal(err)
	}
}

func ExampleOrdered() {
	g := gather.Ordered(os.Stdout, nil)

	commit(g, 2, "third\n") // held: chunks 0 and 1 are not there yet
	commit(g, 0, "first\n") // written at once

	// A failed attempt at chunk 1 leaves no trace.
	out, err := g.Output(1)
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(out, "half a lin")
	out.Discard()

	commit(g, 1, "second\n") // written, then the held chunk 2
	if err := g.Close(3, nil); err != nil {
		log.Fatal(err)
	}
	// Output:
	// first
	// second
	// third
}

func ExampleFile() {
	dir, err := os.MkdirTemp("", "gather-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "result.txt")

	g, err := gather.File(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	commit(g, 0, "only chunk 0\n")
	err = g.Close(2, nil) // chunk 1 is missing
	fmt.Println(err)
	_, err = os.Stat(path)
	fmt.Println("published:", err == nil)
	// Output:
	// gather: incomplete run: chunk 1 of 2 never committed
	// published: false
}

func ExampleDir() {
	dir, err := os.MkdirTemp("", "gather-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	g, err := gather.Dir(dir, &gather.Options{Pattern: "part-%03d.txt"})
	if err != nil {
		log.Fatal(err)
	}
	commit(g, 1, "b")
	commit(g, 0, "a")
	if err := g.Close(2, nil); err != nil {
		log.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", e.Name(), data)
	}
	// Output:
	// part-000.txt: a
	// part-001.txt: b
}

func ExampleMerge() {
	var buf bytes.Buffer
	g := gather.Merge(&buf, bytes.Compare, nil)
	commit(g, 0, "apple\ncherry\nfig\n")
	commit(g, 2, "banana\n")
	commit(g, 1, "date\nelderberry\n")
	if err := g.Close(3, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Print(buf.String())
	// Output:
	// apple
	// banana
	// cherry
	// date
	// elderberry
	// fig
}

// MergeFile publishes the merge as a file, all or nothing: an unsorted
// chunk fails the run and leaves the destination as it was.
func ExampleMergeFile() {
	dir, err := os.MkdirTemp("", "gather-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sorted.txt")

	g, err := gather.MergeFile(path, bytes.Compare, nil)
	if err != nil {
		log.Fatal(err)
	}
	commit(g, 1, "banana\ndate\n")
	commit(g, 0, "apple\ncherry\n")
	if err := g.Close(2, nil); err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))

	g, err = gather.MergeFile(path, bytes.Compare, nil)
	if err != nil {
		log.Fatal(err)
	}
	commit(g, 0, "fig\nelderberry\n")
	fmt.Println(g.Close(1, nil))
	data, err = os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("still %d bytes\n", len(data))
	// Output:
	// apple
	// banana
	// cherry
	// date
	// gather: chunk output not sorted: chunk 0 line 2
	// still 25 bytes
}

func ExampleReduce() {
	// Each chunk's worker counted the words of its part of the text.
	g := gather.Reduce(os.Stdout, gather.Sum, nil)
	commit(g, 1, "to\t1\nbe\t1\n")
	commit(g, 0, "to\t1\nbe\t1\nor\t1\nnot\t1\n")
	if err := g.Close(2, nil); err != nil {
		log.Fatal(err)
	}
	// Output:
	// be	2
	// not	1
	// or	1
	// to	2
}

func ExampleReduceFunc() {
	// A fold that keeps the longest value of each key.
	longest := func(key, acc, value string) (string, error) {
		if len(value) > len(acc) {
			return value, nil
		}
		return acc, nil
	}
	g := gather.Reduce(os.Stdout, longest, &gather.Options{Separator: " "})
	commit(g, 0, strings.Join([]string{"a xx", "b y", "a xxxx"}, "\n"))
	if err := g.Close(1, nil); err != nil {
		log.Fatal(err)
	}
	// Output:
	// a xxxx
	// b y
}
