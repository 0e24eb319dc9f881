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

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "4096": 4096, "512k": 512 << 10, "512K": 512 << 10, "1M": 1 << 20,
		"1.5m": 3 << 19, "2G": 2 << 30,
	} {
		got, err := ParseSize(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{"", "0", "0.5", "-1", "k", "1x", "1 M", "NaN", "Inf", "1e30G"} {
		_, err := ParseSize(in)
		assert.Error(t, err, in)
	}
}
