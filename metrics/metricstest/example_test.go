package metricstest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"dproc/metrics"
	"dproc/metrics/metricstest"
	"dproc/transport/memtransport"
)

func ExampleInstall() {
	t := memtransport.New(nil)
	defer t.Close()
	t.AddHost("node1")
	metricstest.Install(t)

	for _, st := range metrics.Status(context.Background(), t, []string{"node1"}, nil) {
		fmt.Println(st.Hostname, st.CPUs, st.Err)
	}
	s, err := metrics.NewSampler(t, []string{"node1"}, &metrics.SamplerOptions{Interval: time.Millisecond, Count: 1})
	if err != nil {
		log.Fatal(err)
	}
	err = s.Run(context.Background(), func(smp metrics.Sample) {
		fmt.Printf("cpu %.0f%%, memory %.0f%%, disk %.0f%% busy\n", smp.CPU, smp.Memory, smp.IO)
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// node1 4 <nil>
	// cpu 25%, memory 75%, disk 50% busy
}
