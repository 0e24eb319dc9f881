package metricstest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every session a Status or Sampler over the fake hosts starts must be
// gone when it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
