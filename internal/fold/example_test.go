package fold_test

import (
	"fmt"
	"os"

	"dproc/internal/fold"
)

func ExampleWrite() {
	results := []fold.Result{
		{Host: "node1", Output: []byte("Linux 6.1\n")},
		{Host: "node2", Output: []byte("Linux 6.1\n")},
		{Host: "node3", Output: []byte("Linux 6.1\n")},
		{Host: "node7", Output: []byte("Linux 6.1\n")},
		{Host: "web01", Output: []byte("Linux 5.10\n")},
		{Host: "web02", Output: []byte("uname: not found\n"), Status: "exit 127"},
	}
	if err := fold.Write(os.Stdout, results); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ---------------
	// node[1-3,7] (4)
	// ---------------
	// Linux 6.1
	// ---------------
	// web01
	// ---------------
	// Linux 5.10
	// ---------------
	// web02 exit 127
	// ---------------
	// uname: not found
}

func ExampleGroups() {
	for _, g := range fold.Groups([]fold.Result{
		{Host: "n2", Output: []byte("ok\n")},
		{Host: "n1", Output: []byte("ok")},
		{Host: "n3", Output: []byte("ok\n"), Status: "exit 1"},
	}) {
		fmt.Printf("%s: %q %q\n", g.NodeSet, g.Hosts, g.Output)
	}
	// Output:
	// n[1-2]: ["n1" "n2"] "ok\n"
	// n3: ["n3"] "ok\n"
}

func ExamplePrefixer() {
	p := fold.NewPrefixer(os.Stdout, ": ")
	a, b := p.Writer("node1"), p.Writer("node2")
	fmt.Fprint(a, "load 0.")
	fmt.Fprint(b, "load 1.50\nusers 3\n")
	fmt.Fprint(a, "01\npartial")
	b.Close()
	a.Close()
	// Output:
	// node2: load 1.50
	// node2: users 3
	// node1: load 0.01
	// node1: partial
}
