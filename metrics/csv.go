package metrics

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// CSVHeader is the header row [CSVWriter] writes: the time and host of a
// measurement, its three percentages (cpu, memory, io), then its byte
// rates. The column order is fixed; new columns, if any, go at the end.
var CSVHeader = []string{"timestamp", "node", "cpu", "memory", "io", "read_bytes_per_s", "write_bytes_per_s"}

// CSVWriter writes samples as CSV: the [CSVHeader] row, then one row per
// measurement with an RFC 3339 timestamp, the host name (quoted when it
// needs to be), and the numbers with two decimals: CPU %, memory %, disk
// busy %, bytes read per second, bytes written per second.
//
// Gap samples (Err set) have no row: the gap in a host's timestamps is the
// record, and the error reaches the [Sampler.Run] callback. Each row is
// flushed to the underlying writer as it is written, so a file can be
// followed while a run goes on.
//
// A CSVWriter is not safe for concurrent use; [Sampler.Run] never calls its
// callback concurrently, so Write can be called from there directly.
type CSVWriter struct {
	w      *csv.Writer
	header bool
}

// NewCSVWriter returns a CSVWriter writing to w.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w)}
}

// Write writes the header if it has not been written yet, then s as one
// row (nothing for a gap sample), and flushes. It returns the first error
// from the underlying writer.
func (c *CSVWriter) Write(s Sample) error {
	c.writeHeader()
	if s.Err == nil {
		c.w.Write([]string{
			s.Time.Format(time.RFC3339),
			s.Host,
			num(s.CPU), num(s.Memory), num(s.IO), num(s.ReadBps), num(s.WriteBps),
		})
	}
	c.w.Flush()
	return c.w.Error()
}

// Flush writes the header if no row was written yet, so that a run without
// samples still leaves a valid file, and flushes.
func (c *CSVWriter) Flush() error {
	c.writeHeader()
	c.w.Flush()
	return c.w.Error()
}

func (c *CSVWriter) writeHeader() {
	if !c.header {
		c.header = true
		c.w.Write(CSVHeader)
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
