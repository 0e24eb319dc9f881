package localtransport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"dproc/transport"
	"dproc/transport/localtransport"
)

func Example() {
	root, err := os.MkdirTemp("", "dproc-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	tr, err := localtransport.New(root, &localtransport.Options{Hosts: []string{"node1", "node2"}})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()

	// Install a worker in each host's home and run it on its input.
	worker := "#!/bin/sh\ntr a-z A-Z\n"
	for _, host := range []string{"node1", "node2"} {
		if err := tr.Put(ctx, host, "processing/worker.sh", strings.NewReader(worker), 0o755); err != nil {
			log.Fatal(err)
		}
		var out bytes.Buffer
		err := tr.Run(ctx, host, &transport.Command{
			Args:   []string{"./worker.sh"},
			Dir:    "processing",
			Stdin:  strings.NewReader("hello from " + host + "\n"),
			Stdout: &out,
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(out.String())
	}

	// A failing command is an *ExitError with the end of its stderr.
	err = tr.Run(ctx, "node1", &transport.Command{Shell: "echo 'bad input' >&2; exit 3"})
	var ee *transport.ExitError
	if errors.As(err, &ee) {
		fmt.Printf("%s: exit %d: %s", ee.Host, ee.Code, ee.Stderr)
	}
	// Output:
	// HELLO FROM NODE1
	// HELLO FROM NODE2
	// node1: exit 3: bad input
}

func ExampleTransport_AddHost() {
	root, err := os.MkdirTemp("", "dproc-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	tr, err := localtransport.New(root, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	fmt.Println(tr.AddHost("worker-1"))
	fmt.Println(errors.Is(tr.AddHost("../escape"), transport.ErrInvalid))
	err = tr.Run(context.Background(), "worker-2", &transport.Command{Args: []string{"true"}})
	fmt.Println(errors.Is(err, transport.ErrUnknownHost))
	// Output:
	// <nil>
	// true
	// true
}

// A program that keeps its local hosts in a temporary root makes it with
// MkdirTemp: if the program is killed before it removes the root, the next
// program to call MkdirTemp with the same prefix removes it.
func ExampleMkdirTemp() {
	root, err := localtransport.MkdirTemp("", "myprog-nodes-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	tr, err := localtransport.New(root, &localtransport.Options{Hosts: []string{"node1"}})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	fmt.Println(strings.HasPrefix(filepath.Base(root), "myprog-nodes-"))
	// Output: true
}
