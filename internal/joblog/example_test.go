package joblog_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"dproc/internal/joblog"
)

func ExampleWriter() {
	w, err := joblog.NewWriter(os.Stdout)
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Unix(1796170381, 223_000_000)
	w.Write(joblog.Entry{Seq: 1, Host: "node1", Start: start, Runtime: 105 * time.Millisecond, Receive: 2, Command: "echo a"})
	w.Write(joblog.Entry{Seq: 2, Host: "alice@node2:2222", Start: start, Runtime: 1223 * time.Millisecond, Exitval: -1, Signal: 15, Command: "sleep 5"})
	// Output:
	// Seq	Host	Starttime	JobRuntime	Send	Receive	Exitval	Signal	Command
	// 1	node1	1796170381.223	     0.105	0	2	0	0	echo a
	// 2	alice@node2:2222	1796170381.223	     1.223	0	0	-1	15	sleep 5
}

func ExampleSeqs() {
	const log = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n" +
		"1\tn1\t1796170381.223\t     0.005\t0\t2\t0\t0\techo a\n" +
		"2\tn2\t1796170381.230\t     0.004\t0\t0\t3\t0\texit 3\n" +
		"3\tn1\t1796170381.240\t     0.004\t0\t0\t0\t9\tsleep 9\n" +
		"2\tn1\t1796170390.000\t     0.004\t0\t2\t0\t0\texit 0\n"
	entries, err := joblog.Read(strings.NewReader(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	logged, failed := joblog.Seqs(entries)
	fmt.Println("skip on --resume:", logged)
	fmt.Println("rerun on --resume-failed:", failed)
	// Output:
	// skip on --resume: [1 2 3]
	// rerun on --resume-failed: [3]
}

func ExampleExitStatus() {
	for _, failed := range []int{0, 3, 100, 250} {
		fmt.Println(failed, "failed:", joblog.ExitStatus(failed))
	}
	// Output:
	// 0 failed: 0
	// 3 failed: 3
	// 100 failed: 100
	// 250 failed: 101
}
