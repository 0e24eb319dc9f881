package hostsel_test

import (
	"errors"
	"fmt"
	"strings"

	"dproc/internal/hostsel"
)

func ExampleExpand() {
	names, err := hostsel.Expand("node[1-3,7],web[08-10]")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Join(names, " "))
	// Output: node1 node2 node3 node7 web08 web09 web10
}

func ExampleExpand_error() {
	_, err := hostsel.Expand("node1,[1-")
	fmt.Println(err)
	fmt.Println(errors.Is(err, hostsel.ErrSyntax))
	_, err = hostsel.Expand("node[1-100000000]")
	fmt.Println(errors.Is(err, hostsel.ErrTooMany))
	// Output:
	// hosts: column 7: unclosed '['
	// true
	// true
}

func ExampleFold() {
	fmt.Println(hostsel.Fold([]string{"node7", "node1", "node2", "node3"}))
	fmt.Println(hostsel.Fold([]string{"web01", "web02", "web10", "web1"}))
	fmt.Println(hostsel.Fold([]string{"r1n1", "r1n2", "r2n1", "r2n2", "r3n1"}))
	// Output:
	// node[1-3,7]
	// web[1,01-02,10]
	// r[1-2]n[1-2],r3n1
}

func ExampleParse() {
	hosts, err := hostsel.Parse("4/alice@node[1-2]:2222, [::1]:22")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range hosts {
		fmt.Printf("%-20s name=%s user=%q port=%d slots=%d\n", h, h.Name, h.User, h.Port, h.Slots)
	}
	// Output:
	// 4/alice@node1:2222   name=node1 user="alice" port=2222 slots=4
	// 4/alice@node2:2222   name=node2 user="alice" port=2222 slots=4
	// [::1]:22             name=::1 user="" port=22 slots=0
}

func ExampleParseHostfile() {
	const file = `# the cluster
node[1-3]
2/bob@db1   # two slots
`
	hosts, err := hostsel.ParseHostfile(strings.NewReader(file), "hosts.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hosts)
	_, err = hostsel.ParseHostfile(strings.NewReader("node1\nnode[2-\n"), "hosts.txt")
	fmt.Println(err)
	// Output:
	// [node1 node2 node3 2/bob@db1]
	// hosts.txt:2: column 5: unclosed '['
}

func ExampleSelect() {
	hosts, err := hostsel.Select(hostsel.Options{
		Hosts:   []string{"node[1-6]", "web[01-03]"},
		Exclude: []string{"node[2-3]", "web*"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hostsel.Fold(hostsel.Names(hosts)))
	// Output: node[1,4-6]
}
