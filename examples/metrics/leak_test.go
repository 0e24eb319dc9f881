package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Every session the program starts must be gone when it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
