// Package human formats quantities for people to read in the tables of
// dproc (the status table of package metrics, the run report of the dproc
// command), so that every table writes them the same way, and reads the
// sizes people write on dproc's command lines.
package human

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bytes formats n bytes with a binary (IEC) unit and one decimal: "512 B",
// "1.5 KiB", "23.5 GiB", up to EiB.
func Bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}

// ParseSize reads a size as people write it on a command line (dproc run
// --block, examples/cluster -block): a number of bytes, or a number with the
// suffix k, m or g (either case, powers of 1024), such as 512k, 1M, 1.5M or
// 2G. The result must be at least one byte.
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	if s != "" {
		switch strings.ToLower(s[len(s)-1:]) {
		case "k":
			mult = 1 << 10
		case "m":
			mult = 1 << 20
		case "g":
			mult = 1 << 30
		}
	}
	num := s
	if mult > 1 {
		num = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v >= 1 && v*float64(mult) <= 1<<62) { // also refuses NaN and Inf
		return 0, errors.New("want a size such as 512k, 1M or 2G")
	}
	return int64(v * float64(mult)), nil
}
