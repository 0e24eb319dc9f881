package dispatch_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
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
		&dispatch.Job{Command: transport.Command{Args: []string{"tr", "a-z", "A-Z"}}},
		split.Blocks(bytes.NewReader(in), int64(len(in)), 4, nil),
		gather.Ordered(&out, nil))
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
	d, err := dispatch.New(t, []string{"a", "b"}, &dispatch.Options{
		Slots:         1,
		ProbeInterval: time.Millisecond,
		Events: func(e dispatch.Event) {
			if e.Kind == dispatch.HostDown {
				downs = append(downs, e.Host)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = d.Run(context.Background(),
		&dispatch.Job{Command: transport.Command{Args: []string{"tr", "a-z", "A-Z"}}},
		split.Even(bytes.NewReader(in), int64(len(in)), 2, nil),
		gather.Ordered(&out, nil))
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
		&dispatch.Job{Command: transport.Command{Args: []string{"check", "--strict"}}},
		split.Even(bytes.NewReader(in), int64(len(in)), 1, nil),
		gather.Ordered(&strings.Builder{}, nil))
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
		&dispatch.Job{Command: transport.Command{Args: []string{"first-line"}}},
		split.Even(bytes.NewReader(in), int64(len(in)), 2, nil),
		gather.Ordered(&out, nil))
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
