package human

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBytes(t *testing.T) {
	bytesTests := map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		24684084 << 10: "23.5 GiB", 1 << 50: "1.0 PiB", 1 << 63: "8.0 EiB", 1<<64 - 1: "16.0 EiB"}
	for n, want := range bytesTests {
		assert.Equal(t, want, Bytes(n), n)
	}
}
