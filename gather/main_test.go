package gather

import (
	"bufio"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv makes the test binary act as a process that a test kills in
// the middle of a run (see runKilledHelper) instead of running the tests.
const helperEnv = "GATHER_TEST_HELPER_DIR"

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(killedHelper(dir))
	}
	goleak.VerifyTestMain(m)
}

// killedHelper starts a Dir run in dir, writes part of chunk 0, says
// "ready" and waits to be killed.
func killedHelper(dir string) int {
	g, err := Dir(dir, &Options{NoSync: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	o, err := g.Output(0)
	if err == nil {
		_, err = o.Write([]byte("partial"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // the test kills us first
	return 0
}
