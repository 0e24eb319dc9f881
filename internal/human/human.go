// Package human formats quantities for people to read in the tables of
// dproc (the status table of package metrics, the run report of the dproc
// command), so that every table writes them the same way.
package human

import "fmt"

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
