package dispatch_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dproc/dispatch"
	"dproc/gather"
	"dproc/split"
	"dproc/transport"
	"dproc/transport/memtransport"
)

func ExampleDispatcher_Run() {
	t := memtransport.New(nil)
	defer t.Close()
	hosts := []string{"a", "b"}
	for _, h := range hosts {
		t.AddHost(h)
	}
	in := []byte("one\ntwo\nthree\nfour\n")
	var out bytes.Buffer
	d, err := dispatch.New(t, hosts, &dispatch.Options{Slots: 2})
	if err != nil {
		log.Fatal(err)
	}
	_, err = d.Run(context.Background(),
		&dispatch.Job{Args: []string{"tr", "a-z", "A-Z"}},
		split.Blocks(bytes.NewReader(in), int64(len(in)), 4, nil),
		gather.Ordered(&out, nil), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	// Output:
	// ONE
	// TWO
	// THREE
	// FOUR
}

// A host that goes away costs time, never data: its chunk runs again on
// another host, and the host is probed until it answers.
func ExampleDispatcher_Run_lostHost() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("a")
	t.AddHost("b").FailNext(1, nil) // b drops its first connection
	in := []byte("x\ny\n")
	var out bytes.Buffer
	var downs []string
	d, err := dispatch.New(t, []string{"a", "b"}, &dispatch.Options{Slots: 1, ProbeInterval: time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	_, err = d.Run(context.Background(),
		&dispatch.Job{Args: []string{"tr", "a-z", "A-Z"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 2, nil),
		gather.Ordered(&out, nil),
		&dispatch.RunOptions{Events: func(e dispatch.Event) {
			if e.Kind == dispatch.HostDown {
				downs = append(downs, e.Host)
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	fmt.Println("down:", downs)
	// Output:
	// X
	// Y
	// down: [b]
}

// A worker that fails ends the run with an error naming the chunk, the
// host, the command, the exit status and the end of its stderr.
func ExampleChunkError() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("a")
	t.Handle("check", func(ctx context.Context, p *memtransport.Process) int {
		return p.Fail(3, "check: bad record")
	})
	in := []byte("x\n")
	d, err := dispatch.New(t, []string{"a"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = d.Run(context.Background(),
		&dispatch.Job{Args: []string{"check", "--strict"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 1, nil),
		gather.Ordered(&strings.Builder{}, nil), nil)
	var ce *dispatch.ChunkError
	var ee *transport.ExitError
	fmt.Println(errors.As(err, &ce), errors.As(err, &ee))
	fmt.Println(err)
	// Output:
	// true true
	// chunk 0: host "a": command "check --strict" exited with status 3; stderr: check: bad record
}

// A worker that stops reading early (here, one that reads one line, as
// head -n 1 does) succeeds, and the report says which chunks it left
// unread; Options.RequireFullRead would make that a failure.
func ExampleReport_unread() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("a")
	t.Handle("first-line", func(ctx context.Context, p *memtransport.Process) int {
		line, _ := bufio.NewReader(io.LimitReader(p.Stdin, 64)).ReadString('\n')
		fmt.Fprint(p.Stdout, line)
		return 0
	})
	in := bytes.Repeat([]byte("a line of input\n"), 20000) // 2 chunks of 160 KB
	var out bytes.Buffer
	d, err := dispatch.New(t, []string{"a"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := d.Run(context.Background(),
		&dispatch.Job{Args: []string{"first-line"}},
		split.Even(bytes.NewReader(in), int64(len(in)), 2, nil),
		gather.Ordered(&out, nil), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	fmt.Println("unread in chunks", rep.UnreadChunks, rep.Unread > 0)
	// Output:
	// a line of input
	// a line of input
	// unread in chunks [0 1] true
}

func ExampleReport_WriteCSV() {
	rep := &dispatch.Report{
		Chunks: 10, Done: 10, BytesIn: 3 << 20, BytesOut: 3 << 20, Elapsed: 2 * time.Second,
		Busy: 2 * time.Second, SlotTime: 6 * time.Second,
		Hosts: []dispatch.HostReport{
			{Host: "node1", Slots: 2, Done: 6, BytesIn: 2 << 20, BytesOut: 2 << 20, Busy: 2 * time.Second, SlotTime: 4 * time.Second},
			{Host: "node2", Slots: 2, Done: 4, Lost: 1, Retries: 1, BytesIn: 1 << 20, BytesOut: 1 << 20, Busy: time.Second,
				SlotTime: 2 * time.Second},
		},
	}
	if err := rep.WriteCSV(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// host,slots,done,bytes_in,bytes_out,busy_seconds,slot_seconds,throughput_bytes_per_s,failures,lost,retries,timeouts,stalled,speculative,unread_bytes,down,retired,last_error
	// node1,2,6,2097152,2097152,2.000,4.000,1048576.00,0,0,0,0,0,0,0,false,false,
	// node2,2,4,1048576,1048576,1.000,2.000,1048576.00,0,1,1,0,0,0,0,false,false,
	// (total),4,10,3145728,3145728,2.000,6.000,1572864.00,0,1,1,0,0,0,0,false,false,
}

func ExampleReport_WriteJSON() {
	rep := &dispatch.Report{
		Run: "5f3c0a9e12b4", Chunks: 4, Done: 4, BytesIn: 4096, BytesOut: 2048, Elapsed: 2 * time.Second,
		Busy: 2 * time.Second, SlotTime: 2 * time.Second,
		Hosts: []dispatch.HostReport{
			{Host: "node1", Slots: 1, Done: 4, BytesIn: 4096, BytesOut: 2048, Busy: 2 * time.Second, SlotTime: 2 * time.Second},
		},
	}
	if err := rep.WriteJSON(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {
	//   "run": "5f3c0a9e12b4",
	//   "chunks": 4,
	//   "done": 4,
	//   "failed": 0,
	//   "resumed": 0,
	//   "bytes_in": 4096,
	//   "bytes_out": 2048,
	//   "elapsed_seconds": 2,
	//   "busy_seconds": 2,
	//   "slot_seconds": 2,
	//   "speculative": 0,
	//   "unread_bytes": 0,
	//   "unread_chunks": [],
	//   "hosts": [
	//     {
	//       "host": "node1",
	//       "slots": 1,
	//       "done": 4,
	//       "bytes_in": 4096,
	//       "bytes_out": 2048,
	//       "busy_seconds": 2,
	//       "slot_seconds": 2,
	//       "throughput_bytes_per_s": 2048,
	//       "failures": 0,
	//       "lost": 0,
	//       "retries": 0,
	//       "timeouts": 0,
	//       "stalled": 0,
	//       "speculative": 0,
	//       "unread_bytes": 0,
	//       "down": false,
	//       "retired": false
	//     }
	//   ],
	//   "total": {
	//     "host": "(total)",
	//     "slots": 1,
	//     "done": 4,
	//     "bytes_in": 4096,
	//     "bytes_out": 2048,
	//     "busy_seconds": 2,
	//     "slot_seconds": 2,
	//     "throughput_bytes_per_s": 2048,
	//     "failures": 0,
	//     "lost": 0,
	//     "retries": 0,
	//     "timeouts": 0,
	//     "stalled": 0,
	//     "speculative": 0,
	//     "unread_bytes": 0,
	//     "down": false,
	//     "retired": false
	//   }
	// }
}

// RunFile is the common case: a file in, a command on the hosts, a file
// out in input order, written atomically.
func ExampleDispatcher_RunFile() {
	t := memtransport.New(nil)
	defer t.Close()
	hosts := []string{"node1", "node2", "node3"}
	for _, h := range hosts {
		t.AddHost(h)
	}
	dir, err := os.MkdirTemp("", "dproc-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "input.txt"), filepath.Join(dir, "result.txt")
	if err := os.WriteFile(in, []byte("divide\nand\nconquer\n"), 0o644); err != nil {
		log.Fatal(err)
	}

	d, err := dispatch.New(t, hosts, nil)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := d.RunFile(context.Background(), &dispatch.Job{Args: []string{"tr", "a-z", "A-Z"}}, in, out, nil)
	if err != nil {
		log.Fatal(err)
	}
	result, err := os.ReadFile(out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(result))
	fmt.Println("chunks done:", rep.Done)
	// Output:
	// DIVIDE
	// AND
	// CONQUER
	// chunks done: 1
}
