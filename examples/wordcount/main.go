// Command wordcount counts the words of a text on many nodes: the input is
// cut into one chunk per slot, every node counts the words of its chunks
// with standard tools, and the counts are folded into one table (a reduce).
//
//	go run ./examples/wordcount [-input FILE] [-top N] [-nodes a,b,c -ssh-config FILE]
//
// Without -input it counts a generated sample; without -nodes it runs on
// three local nodes. -input - reads standard input; a pipe, a FIFO or a
// /proc file is streamed in blocks (it cannot be cut into one chunk per
// slot without reading it all first), a regular file is cut into one
// chunk per slot.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/internal/cli"
	"dproc/internal/nodeflags"
	"dproc/split"
)

// counter is the worker: one "word<TAB>count" line per distinct word of
// its standard input, words being runs of letters and digits.
const counter = `tr -cs 'A-Za-z0-9' '\n' | grep -v '^$' | sort | uniq -c | awk '{print $2 "\t" $1}'`

func main() { cli.MainStdin("wordcount", runStdin) }

// run is the program with an empty standard input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runStdin(ctx, args, strings.NewReader(""), stdout, stderr)
}

func runStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wordcount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nf := nodeflags.Register(fs)
	input := fs.String("input", "", "text to count, - for standard input (default: a generated sample)")
	top := fs.Int("top", 10, "how many of the most frequent words to print (0: all, sorted by word)")
	slots := fs.Int("slots", 2, "chunks at once on each node")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *slots < 1 || *top < 0 {
		return errors.New("-slots must be at least 1 and -top not negative")
	}
	nodes, err := nf.Open()
	if err != nil {
		return err
	}
	defer nodes.Close()

	n := *slots * len(nodes.Hosts)
	var chunks split.Splitter
	if *input == "" {
		data := sample()
		chunks = split.Even(bytes.NewReader(data), int64(len(data)), n, nil)
	} else {
		var in *split.Input
		if *input == "-" {
			in, err = split.NewInput("standard input", stdin, nil)
		} else {
			in, err = split.OpenInput(*input, nil)
		}
		if err != nil {
			return err
		}
		defer in.Close()
		if in.Streamed() {
			chunks = in.Blocks(0)
		} else if chunks, err = in.Even(n); err != nil {
			return err
		}
	}

	var counts bytes.Buffer
	d, err := dispatch.New(nodes.Transport, nodes.Hosts, &dispatch.Options{Slots: *slots})
	if err != nil {
		return err
	}
	job := &dispatch.Job{Shell: counter}
	if _, err := d.Run(ctx, job, chunks, gather.Reduce(&counts, gather.Sum, nil), nil); err != nil {
		return err
	}
	return printTop(stdout, &counts, *top)
}

// printTop prints the n most frequent words of "word<TAB>count" lines.
func printTop(w io.Writer, counts io.Reader, n int) error {
	type wc struct {
		word  string
		count int64
	}
	var all []wc
	sc := bufio.NewScanner(counts)
	for sc.Scan() {
		word, num, ok := strings.Cut(sc.Text(), "\t")
		c, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("bad count line %q", sc.Text())
		}
		all = append(all, wc{word, c})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if n > 0 {
		sort.SliceStable(all, func(i, j int) bool { return all[i].count > all[j].count })
		all = all[:min(n, len(all))]
	}
	for _, x := range all {
		fmt.Fprintf(w, "%8d %s\n", x.count, x.word)
	}
	return nil
}

func sample() []byte {
	var b bytes.Buffer
	words := strings.Fields("divide and conquer the essence of distributed processing")
	for i := 0; i < 20000; i++ {
		for j := 0; j <= i%len(words); j++ {
			b.WriteString(words[j])
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
