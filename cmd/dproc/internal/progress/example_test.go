package progress_test

import (
	"errors"
	"fmt"
	"os"

	"dproc/cmd/dproc/internal/progress"
	"dproc/dispatch"
)

// Off a terminal, a forced display (dproc's --progress) writes plain
// lines: host changes, each tenth of the run, and a summary at Close.
// In a program, pass d.Event as dispatch.RunOptions.Events.
func Example_forced() {
	hosts := []string{"node1", "node2"}
	d := progress.New(os.Stdout, hosts, 4, &progress.Options{Force: true})
	feed := []dispatch.Event{
		{Kind: dispatch.HostReady, Host: "node1", Chunk: -1},
		{Kind: dispatch.HostReady, Host: "node2", Chunk: -1},
		{Kind: dispatch.ChunkStarted, Host: "node1", Chunk: 0, Attempt: 1},
		{Kind: dispatch.ChunkStarted, Host: "node2", Chunk: 1, Attempt: 1},
		{Kind: dispatch.ChunkDone, Host: "node1", Chunk: 0, Attempt: 1, Bytes: 1536},
		{Kind: dispatch.HostDown, Host: "node2", Chunk: -1, Err: errors.New("connection reset")},
		{Kind: dispatch.ChunkLost, Host: "node2", Chunk: 1, Attempt: 1},
		{Kind: dispatch.ChunkStarted, Host: "node1", Chunk: 1, Attempt: 2},
		{Kind: dispatch.ChunkDone, Host: "node1", Chunk: 1, Attempt: 2, Bytes: 512},
		{Kind: dispatch.HostUp, Host: "node2", Chunk: -1},
		{Kind: dispatch.ChunkStarted, Host: "node2", Chunk: 2, Attempt: 1},
		{Kind: dispatch.ChunkStarted, Host: "node1", Chunk: 3, Attempt: 1},
		{Kind: dispatch.ChunkDone, Host: "node2", Chunk: 2, Attempt: 1, Bytes: 1024},
		{Kind: dispatch.ChunkDone, Host: "node1", Chunk: 3, Attempt: 1, Bytes: 1024},
	}
	for _, e := range feed {
		e.Run = "5f3c0a9e12b4"
		d.Event(e)
	}
	if err := d.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// progress: 1/4 chunks done (25%)
	// progress: host node2 down, probing: connection reset
	// progress: 2/4 chunks done (50%)
	// progress: host node2 up again
	// progress: 3/4 chunks done (75%)
	// progress: 4/4 chunks done (100%)
	// progress: 4/4 chunks done, 4.0 KiB out
}
