package sshtransport_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"dproc/internal/sshtest"
	"dproc/transport"
)

// BenchmarkRunTiny measures one tiny command on an open connection: the
// per-task cost once a host is connected.
func BenchmarkRunTiny(b *testing.B) {
	c := sshtest.StartCluster(b, 1, nil)
	tr := newTransportTB(b, c.ConfigFile())
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := tr.Run(ctx, "node1", &transport.Command{Args: []string{"echo", "x"}}); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkStream pipes 16 MiB through cat on one node.
func BenchmarkStream(b *testing.B) {
	c := sshtest.StartCluster(b, 1, nil)
	tr := newTransportTB(b, c.ConfigFile())
	data := strings.Repeat("abcdefghijklmnopqrstuvwxyz01234\n", 1<<19)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := tr.Run(context.Background(), "node1", &transport.Command{Args: []string{"cat"}, Stdin: strings.NewReader(data), Stdout: io.Discard}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutGet sends and fetches 16 MiB over SFTP.
func BenchmarkPutGet(b *testing.B) {
	c := sshtest.StartCluster(b, 1, nil)
	tr := newTransportTB(b, c.ConfigFile())
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	b.SetBytes(2 * int64(len(data)))
	for b.Loop() {
		if err := tr.Put(context.Background(), "node1", "bench.bin", bytes.NewReader(data), 0); err != nil {
			b.Fatal(err)
		}
		if err := tr.Get(context.Background(), "node1", "bench.bin", io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
