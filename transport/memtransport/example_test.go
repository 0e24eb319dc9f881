package memtransport_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"dproc/transport"
	"dproc/transport/memtransport"
)

// A command is a Go function registered by name; Run finds it by Args[0].
func Example() {
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"node1"}})
	defer tr.Close()

	// "count" prints how many lines its standard input has.
	tr.Handle("count", func(ctx context.Context, p *memtransport.Process) int {
		n := 0
		sc := bufio.NewScanner(p.Stdin)
		for sc.Scan() {
			n++
		}
		if sc.Err() != nil {
			return p.Fail(1, "count: %v", sc.Err())
		}
		fmt.Fprintf(p.Stdout, "%d lines on %s\n", n, p.Host)
		return 0
	})

	var out bytes.Buffer
	err := tr.Run(context.Background(), "node1", &transport.Command{
		Args:   []string{"count"},
		Stdin:  strings.NewReader("a\nb\nc\n"),
		Stdout: &out,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())

	// Builtins such as tr, cat and sha256sum need no registration.
	out.Reset()
	err = tr.Run(context.Background(), "node1", &transport.Command{
		Shell:  "tr a-z A-Z",
		Stdin:  strings.NewReader("hello\n"),
		Stdout: &out,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	// Output:
	// 3 lines on node1
	// HELLO
}

// Fault controls script what a real host does wrong; every fault is a lost
// error, safe to retry elsewhere.
func Example_faults() {
	ctx := context.Background()
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"node1", "node2"}})
	defer tr.Close()

	tr.Host("node1").FailNext(1, nil)
	err := tr.Run(ctx, "node1", &transport.Command{Args: []string{"true"}})
	fmt.Println("first call lost:", transport.IsLost(err), errors.Is(err, memtransport.ErrInjected))
	err = tr.Run(ctx, "node1", &transport.Command{Args: []string{"true"}})
	fmt.Println("second call:", err)

	tr.Host("node2").Kill()
	err = tr.Ping(ctx, "node2")
	fmt.Println("node2 lost:", transport.IsLost(err), errors.Is(err, memtransport.ErrKilled))

	err = tr.Run(ctx, "node1", &transport.Command{Args: []string{"false"}})
	fmt.Println("a failed command is not lost:", transport.IsLost(err), errors.Is(err, transport.ErrFailed))

	fmt.Printf("%+v\n", tr.Host("node1").Stats())
	// Output:
	// first call lost: true true
	// second call: <nil>
	// node2 lost: true true
	// a failed command is not lost: false true
	// {Calls:3 Runs:3 Puts:0 Gets:0 BytesIn:0 BytesOut:0 Failures:2 Lost:1}
}

// Files live in memory; relative paths resolve against "/home/<host>".
func ExampleHost_WriteFile() {
	ctx := context.Background()
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"node1"}})
	defer tr.Close()
	h := tr.Host("node1")

	if err := h.WriteFile("/proc/loadavg", []byte("0.50 0.40 0.30 1/100 42\n"), 0o444); err != nil {
		log.Fatal(err)
	}
	if err := tr.Put(ctx, "node1", "work/worker.sh", strings.NewReader("#!/bin/sh\n"), 0o755); err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	err := tr.Run(ctx, "node1", &transport.Command{Args: []string{"stat", "-c", "%a %n", "work/worker.sh", "/proc/loadavg"}, Stdout: &out})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())
	fmt.Println(h.Files())
	// Output:
	// 755 work/worker.sh
	// 444 /proc/loadavg
	// [/home/node1/work/worker.sh /proc/loadavg]
}

// WaitRunning lets a test kill a host while its command runs, without
// sleeping.
func ExampleHost_Kill() {
	ctx := context.Background()
	tr := memtransport.New(&memtransport.Options{Hosts: []string{"node1"}})
	defer tr.Close()
	h := tr.Host("node1")

	done := make(chan error)
	go func() {
		done <- tr.Run(ctx, "node1", &transport.Command{Args: []string{"sleep", "3600"}})
	}()
	if err := h.WaitRunning(ctx, 1); err != nil {
		log.Fatal(err)
	}
	h.Kill()
	err := <-done
	fmt.Println(transport.IsLost(err), errors.Is(err, memtransport.ErrKilled))
	// Output:
	// true true
}
