package dproc_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport/memtransport"
)

// Example runs the whole pipeline: split an input into chunks, run a worker
// on three hosts, gather the results in input order. It runs in memory;
// swap memtransport for sshtransport or localtransport and nothing else
// changes.
func Example() {
	ctx := context.Background()

	// Three hosts. memtransport runs builtin commands such as tr.
	hosts := []string{"node1", "node2", "node3"}
	t := memtransport.New(nil)
	defer t.Close()
	for _, h := range hosts {
		t.AddHost(h)
	}

	// Split: six chunks balanced by lines.
	input := strings.NewReader("divide\nand\nconquer\nthe\nessence\nof\ndistributed\nprocessing\n")
	chunks := split.Even(input, input.Size(), 6, nil)

	// Gather: in input order.
	var out strings.Builder
	results := gather.Ordered(&out, nil)

	// Dispatch: the worker reads a chunk on stdin and writes stdout.
	d, err := dispatch.New(t, hosts, nil)
	if err != nil {
		log.Fatal(err)
	}
	job := &dispatch.Job{Args: []string{"tr", "a-z", "A-Z"}}
	report, err := d.Run(ctx, job, chunks, results, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	fmt.Println("chunks:", report.Chunks, "done:", report.Done)
	// Output:
	// DIVIDE
	// AND
	// CONQUER
	// THE
	// ESSENCE
	// OF
	// DISTRIBUTED
	// PROCESSING
	// chunks: 6 done: 6
}
