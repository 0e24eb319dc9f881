package metrics_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every session a Sampler or Status starts must be gone when they return.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
