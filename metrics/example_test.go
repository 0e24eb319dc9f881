package metrics_test

import (
	"context"
	"log"
	"os"
	"time"

	"dproc/metrics"
	"dproc/metrics/metricstest"
	"dproc/transport/memtransport"
)

func ExampleStatus() {
	// Fake hosts: node1 answers with the fixture of metricstest, node2 is
	// down.
	t := memtransport.New(nil)
	t.AddHost("node1")
	t.AddHost("node2").SetDown(true)
	metricstest.Install(t)

	statuses := metrics.Status(context.Background(), t, []string{"node1", "node2"}, nil)
	if err := metrics.WriteStatusTable(os.Stdout, statuses); err != nil {
		log.Fatal(err)
	}
	// Output:
	// HOST   HOSTNAME  KERNEL                UPTIME    LOAD 1/5/15     CPUS  MEM USED  MEM TOTAL  SWAP USED  SWAP TOTAL
	// node1  node1     Linux 6.1.0-18-amd64  3d 02:00  0.50 0.25 0.10  4     2.0 GiB   8.0 GiB    512.0 MiB  2.0 GiB
	// node2  -         -                     -         -               -     -         -          -          -  error: run on host "node2": host lost: memtransport: connection refused (host is down)
	//
	// HOST   MOUNT     DEVICE     SIZE       USED      AVAIL     USE%
	// node1  /         /dev/sda1  100.0 GiB  40.0 GiB  60.0 GiB  40%
	// node1  /dev/shm  tmpfs      4.0 GiB    0 B       4.0 GiB   0%
}

func ExampleSampler_Run() {
	// Fake hosts whose CPUs are 25% busy, memory 75% used, and disk
	// busy 50%, reading 1 MiB/s and writing 512 KiB/s.
	t := memtransport.New(nil)
	t.AddHost("node1")
	t.AddHost("node,2") // a name that CSV must quote
	metricstest.Install(t)

	s, err := metrics.NewSampler(t, []string{"node1", "node,2"}, &metrics.SamplerOptions{
		Interval: time.Millisecond, // fake hosts need no rest
		Count:    2,
		// A fixed clock so that the output is the same on every run.
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	w := metrics.NewCSVWriter(os.Stdout)
	rows := map[string][]metrics.Sample{}
	err = s.Run(context.Background(), func(smp metrics.Sample) {
		rows[smp.Host] = append(rows[smp.Host], smp)
	})
	if err != nil {
		log.Fatal(err)
	}
	// Hosts report concurrently; print them in a fixed order.
	for _, h := range []string{"node1", "node,2"} {
		for _, smp := range rows[h] {
			if err := w.Write(smp); err != nil {
				log.Fatal(err)
			}
		}
	}
	// Output:
	// timestamp,node,cpu,memory,io,read_bytes_per_s,write_bytes_per_s
	// 2026-01-02T03:04:05Z,node1,25.00,75.00,50.00,1048576.00,524288.00
	// 2026-01-02T03:04:05Z,node1,25.00,75.00,50.00,1048576.00,524288.00
	// 2026-01-02T03:04:05Z,"node,2",25.00,75.00,50.00,1048576.00,524288.00
	// 2026-01-02T03:04:05Z,"node,2",25.00,75.00,50.00,1048576.00,524288.00
}
