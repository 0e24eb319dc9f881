package memtransport_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: a command's
// goroutine, a stdin copier, a timer of a fault.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
