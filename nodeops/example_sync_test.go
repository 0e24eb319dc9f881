package nodeops_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"dproc/nodeops"
	"dproc/transport/localtransport"
)

// Two local hosts stand in for remote ones: each is a directory under root.
func ExampleSyncAll() {
	root, err := os.MkdirTemp("", "example-sync-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	src := filepath.Join(root, "src")
	if err := os.MkdirAll(filepath.Join(src, "data"), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "data", "input 1.txt"), []byte("hello\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Symlink("data/input 1.txt", filepath.Join(src, "latest")); err != nil {
		log.Fatal(err)
	}

	t, err := localtransport.New(filepath.Join(root, "hosts"), &localtransport.Options{Hosts: []string{"node1", "node2"}})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	for i := 0; i < 2; i++ {
		for _, r := range nodeops.SyncAll(context.Background(), t, []string{"node1", "node2"}, src, "shared", nil) {
			if r.Err != nil {
				log.Fatal(r.Err)
			}
			fmt.Printf("%s: sent %d files (%d bytes), %d dirs, %d links, %d unchanged\n",
				r.Host, r.Value.FilesSent, r.Value.BytesSent, r.Value.DirsCreated, r.Value.LinksMade, r.Value.Unchanged)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "hosts", "node2", "shared", "latest"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("node2:shared/latest: %q\n", b)
	// Output:
	// node1: sent 1 files (6 bytes), 1 dirs, 1 links, 0 unchanged
	// node2: sent 1 files (6 bytes), 1 dirs, 1 links, 0 unchanged
	// node1: sent 0 files (0 bytes), 0 dirs, 0 links, 1 unchanged
	// node2: sent 0 files (0 bytes), 0 dirs, 0 links, 1 unchanged
	// node2:shared/latest: "hello\n"
}

func ExampleSetup() {
	root, err := os.MkdirTemp("", "example-setup-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	t, err := localtransport.New(root, &localtransport.Options{Hosts: []string{"node1", "node2"}})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	files := []nodeops.File{{Path: "worker.sh", Mode: 0o755, Data: []byte("#!/bin/sh\ntr a-z A-Z\n")}}
	for i := 0; i < 2; i++ {
		for _, r := range nodeops.Setup(context.Background(), t, []string{"node1", "node2"}, "processing", files, nil) {
			if r.Err != nil {
				log.Fatal(r.Err)
			}
			fmt.Printf("%s: sent %v, skipped %v\n", r.Host, r.Value.Sent, r.Value.Skipped)
		}
	}
	// Output:
	// node1: sent [worker.sh], skipped []
	// node2: sent [worker.sh], skipped []
	// node1: sent [], skipped [worker.sh]
	// node2: sent [], skipped [worker.sh]
}

func ExampleParseStamp() {
	st, err := nodeops.ParseStamp([]byte("synced 2026-11-28T13:40:00.5Z\ndigest 0a1b\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Time.Format("2006-01-02 15:04:05.0"), st.Digest)
	// Output: 2026-11-28 13:40:00.5 0a1b
}
