package sshtransport_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// Transport the tests make is closed, and Close must leave nothing running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
