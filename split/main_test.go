package split_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (a FIFO writer,
// a cancelled Split).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
