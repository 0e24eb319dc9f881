package metrics

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"

	"dproc/dispatch"
)

// RunStats is a dispatch run's [dispatch.Report] in the shape
// [WriteReportJSON] writes: the run's figures, one [HostStats] per host and
// a Total over the hosts. Durations are in seconds.
type RunStats struct {
	Chunks         int         `json:"chunks"`   // chunks in the input
	Done           int         `json:"done"`     // chunks committed
	Failed         int         `json:"failed"`   // chunks that failed for good
	Resumed        int         `json:"resumed"`  // chunks whose output came from the journal
	BytesIn        int64       `json:"bytes_in"` // chunk bytes sent to workers, all attempts
	BytesOut       int64       `json:"bytes_out"`
	ElapsedSeconds float64     `json:"elapsed_seconds"`
	Hosts          []HostStats `json:"hosts"`
	Total          HostStats   `json:"total"` // sums over Hosts; Host is [TotalHost]
}

// HostStats is one host's part of a run, or the sum over all hosts.
type HostStats struct {
	Host        string  `json:"host"`
	Slots       int     `json:"slots"`
	Chunks      int     `json:"chunks"`    // attempts committed on the host
	BytesIn     int64   `json:"bytes_in"`  // chunk bytes sent to the host, all attempts
	BytesOut    int64   `json:"bytes_out"` // output bytes of committed attempts
	BusySeconds float64 `json:"busy_seconds"`
	// Throughput is input bytes per second of busy time (summed over
	// the host's slots); 0 when the host did no work.
	Throughput float64 `json:"throughput_bytes_per_s"`
	Failures   int     `json:"failures"` // attempts whose worker failed
	Lost       int     `json:"lost"`     // attempts lost or timed out
	Retries    int     `json:"retries"`  // attempts that retried a failed or lost one
	Down       bool    `json:"down"`     // down when the run ended
	LastError  string  `json:"last_error,omitempty"`
}

// TotalHost is the Host of the totals row and object. The parentheses keep
// it apart from any real host name.
const TotalHost = "(total)"

// NewRunStats converts rep. The Total sums the hosts' counts, bytes and busy
// time; its throughput is total input over total busy time, and its Down is
// true when any host was down.
func NewRunStats(rep *dispatch.Report) RunStats {
	rs := RunStats{
		Chunks: rep.Chunks, Done: rep.Done, Failed: rep.Failed, Resumed: rep.Resumed,
		BytesIn: rep.BytesIn, BytesOut: rep.BytesOut, ElapsedSeconds: rep.Elapsed.Seconds(),
		Hosts: make([]HostStats, 0, len(rep.Hosts)),
	}
	var total dispatch.HostReport
	total.Host = TotalHost
	for _, h := range rep.Hosts {
		rs.Hosts = append(rs.Hosts, hostStats(h))
		total.Slots += h.Slots
		total.Tasks += h.Tasks
		total.Failures += h.Failures
		total.Lost += h.Lost
		total.Retries += h.Retries
		total.BytesIn += h.BytesIn
		total.BytesOut += h.BytesOut
		total.Busy += h.Busy
		total.Down = total.Down || h.Down
	}
	rs.Total = hostStats(total)
	return rs
}

func hostStats(h dispatch.HostReport) HostStats {
	hs := HostStats{
		Host: h.Host, Slots: h.Slots, Chunks: h.Tasks, BytesIn: h.BytesIn, BytesOut: h.BytesOut,
		BusySeconds: h.Busy.Seconds(), Throughput: h.Throughput(),
		Failures: h.Failures, Lost: h.Lost, Retries: h.Retries, Down: h.Down,
	}
	if h.LastErr != nil {
		hs.LastError = h.LastErr.Error()
	}
	return hs
}

// ReportCSVHeader is the header row of [WriteReportCSV].
var ReportCSVHeader = []string{
	"host", "slots", "chunks", "bytes_in", "bytes_out", "busy_seconds",
	"throughput_bytes_per_s", "failures", "lost", "retries", "down", "last_error",
}

// WriteReportCSV writes rep as CSV: the [ReportCSVHeader] row, one row per
// host in the report's order, and a last row for [TotalHost] (see
// [NewRunStats]). Seconds and throughput have three and two decimals.
func WriteReportCSV(w io.Writer, rep *dispatch.Report) error {
	rs := NewRunStats(rep)
	cw := csv.NewWriter(w)
	cw.Write(ReportCSVHeader)
	for _, h := range append(rs.Hosts, rs.Total) {
		cw.Write([]string{
			h.Host, strconv.Itoa(h.Slots), strconv.Itoa(h.Chunks),
			strconv.FormatInt(h.BytesIn, 10), strconv.FormatInt(h.BytesOut, 10),
			strconv.FormatFloat(h.BusySeconds, 'f', 3, 64), strconv.FormatFloat(h.Throughput, 'f', 2, 64),
			strconv.Itoa(h.Failures), strconv.Itoa(h.Lost), strconv.Itoa(h.Retries),
			strconv.FormatBool(h.Down), h.LastError,
		})
	}
	cw.Flush()
	return cw.Error()
}

// WriteReportJSON writes rep as one indented JSON object, the encoding of
// [NewRunStats](rep), followed by a newline.
func WriteReportJSON(w io.Writer, rep *dispatch.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewRunStats(rep))
}
