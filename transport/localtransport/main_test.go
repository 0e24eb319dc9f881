package localtransport_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs a helper process when the tests re-execute their own binary
// (see sigkill_test.go), and otherwise checks that no test leaves a
// goroutine behind: a stdin pump, a watcher, an os/exec copier.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	goleak.VerifyTestMain(m)
}
