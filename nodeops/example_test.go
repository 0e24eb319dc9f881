package nodeops_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"dproc/nodeops"
	"dproc/transport"
	"dproc/transport/memtransport"
)

func ExampleEach() {
	t := memtransport.New(nil)
	defer t.Close()
	hosts := []string{"node1", "node2", "node3"}
	for _, h := range hosts[:2] {
		t.AddHost(h)
	}
	// At most two hosts at a time; the results come in the order of hosts.
	res := nodeops.Each(context.Background(), hosts, 2, func(ctx context.Context, host string) (string, error) {
		var out bytes.Buffer
		err := t.Run(ctx, host, &transport.Command{Args: []string{"echo", "hello from", host}, Stdout: &out})
		return strings.TrimSpace(out.String()), err
	})
	for _, r := range res {
		if r.Err != nil {
			fmt.Printf("%s: unknown host: %v\n", r.Host, r.Err != nil)
			continue
		}
		fmt.Printf("%s: %s\n", r.Host, r.Value)
	}
	// Output:
	// node1: hello from node1
	// node2: hello from node2
	// node3: unknown host: true
}

func ExampleInstall() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("node1")
	files := []nodeops.File{{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ntr a-z A-Z\n")}}
	for i := 0; i < 2; i++ {
		res, err := nodeops.Install(context.Background(), t, "node1", "processing", files)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("sent %v, skipped %v\n", res.Sent, res.Skipped)
	}
	// Output:
	// sent [worker.sh], skipped []
	// sent [], skipped [worker.sh]
}

func ExampleSync() {
	src, err := os.MkdirTemp("", "example-sync-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "input.txt"), []byte("hello\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("node1")

	r, err := nodeops.Sync(context.Background(), t, "node1", src, "~/shared", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sent %d files (%d bytes)\n", r.FilesSent, r.BytesSent)

	b, err := t.Host("node1").ReadFile("shared/" + nodeops.DefaultStampName)
	if err != nil {
		log.Fatal(err)
	}
	st, err := nodeops.ParseStamp(b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stamp digest is the tree's:", st.Digest == r.Digest)
	// Output:
	// sent 1 files (6 bytes)
	// stamp digest is the tree's: true
}

func ExampleListTree() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("node1")
	ctx := context.Background()
	err := nodeops.ApplyTree(ctx, t, "node1", "work", []transport.TreeOp{
		{Kind: transport.OpMkdir, Path: "bin", Mode: 0o755},
		{Kind: transport.OpSymlink, Path: "current", Target: "bin"},
	})
	if err != nil {
		log.Fatal(err)
	}
	entries, err := nodeops.ListTree(ctx, t, "node1", "work", false)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		if e.Target != "" {
			fmt.Printf("%s: link to %s\n", e.Path, e.Target)
			continue
		}
		fmt.Printf("%s: %v\n", e.Path, e.Mode)
	}
	// Output:
	// bin: drwxr-xr-x
	// current: link to bin
}
