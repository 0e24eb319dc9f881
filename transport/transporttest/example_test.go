package transporttest_test

import (
	"fmt"

	"dproc/transport/transporttest"
)

// A transport without a real shell recognises the suite's shell lines.
func ExampleShellLines() {
	for _, line := range transporttest.ShellLines() {
		fmt.Println(line)
	}
	// Output:
	// exit 3
	// echo oops >&2; exit 5
	// cat >&2
	// cat; echo done >&2
	// cat >&2; exit 7
}
