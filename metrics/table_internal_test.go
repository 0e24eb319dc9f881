package metrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFormat(t *testing.T) {
	// The sizes of the table are internal/human's Bytes, tested there.
	upTests := map[time.Duration]string{0: "00:00", 59 * time.Second: "00:00", 10756 * time.Second: "02:59",
		3*24*time.Hour + 4*time.Hour + 5*time.Minute + 30*time.Second: "3d 04:05"}
	for d, want := range upTests {
		assert.Equal(t, want, formatUptime(d), d)
	}
}
