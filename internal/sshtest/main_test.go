package sshtest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that clusters and proxies leave no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
