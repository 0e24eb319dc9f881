package dispatch

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// Report sums up a run.
type Report struct {
	// Run is the run's id, a random string of 12 hex digits that every
	// Event of the run carries too (Event.Run).
	Run string

	Chunks   int           // chunks in the input
	Done     int           // chunks committed (by the hosts, or from the journal)
	Failed   int           // chunks that failed for good
	Resumed  int           // chunks whose output came from the journal
	BytesIn  int64         // chunk bytes sent to workers, all attempts
	BytesOut int64         // committed output bytes
	Elapsed  time.Duration // wall time of the run

	// Busy is the wall time during which at least one host had an
	// attempt running, at most Elapsed: the union over all hosts of the
	// intervals HostReport.Busy describes. Elapsed minus Busy is time
	// the run spent with every slot idle (setting hosts up, waiting for
	// input, probing hosts that were down).
	Busy time.Duration

	// SlotTime is the time every slot of every host held an attempt,
	// added up: the sum of the hosts' SlotTime. SlotTime over Busy is
	// the average number of attempts running while any ran.
	SlotTime time.Duration

	// Speculative counts the speculative copies launched: of stalled
	// attempts (see [Stall]) and of slow ones (Options.Speculate). An
	// undisturbed run launches none.
	Speculative int

	// Unread is how many bytes of the committed chunks their workers did
	// not read (Stream mode), and UnreadChunks which chunks, in order.
	Unread       int64
	UnreadChunks []int
	Hosts        []HostReport // one per host of the run: those given to New, in order, then those added (Dispatcher.AddHosts)
}

// HostReport sums up one host's part of a run.
//
// A slot holds an attempt from when the dispatcher hands it the chunk
// until the dispatcher takes the finished attempt back (its worker ended
// and its output was committed or discarded), whether the attempt
// succeeded, failed, was lost or was cancelled; a chunk taken from a
// journal holds no slot. Busy is the union of those intervals over the
// host's slots, so it never exceeds the run's Elapsed: a host with 4
// slots all running for 3 s has Busy 3 s. SlotTime is their sum, so that
// host has SlotTime 12 s; SlotTime over Busy is how many of its slots
// were in use on average while any was, and Busy <= SlotTime <= Slots *
// Busy always holds. For [Report.Total], Busy is the union over all hosts
// ([Report.Busy]) and SlotTime the sum ([Report.SlotTime]).
type HostReport struct {
	Host     string
	Slots    int
	Done     int           // chunks committed from this host's attempts
	Failures int           // attempts whose worker failed
	Lost     int           // attempts lost (including timeouts whose probe failed)
	Timeouts int           // attempts that ran past the attempt timeout
	Retries  int           // attempts that were retries of a failed or lost attempt
	Stalled  int           // attempts on this host found stalled (see [Stall])
	BytesIn  int64         // chunk bytes sent to this host
	BytesOut int64         // output bytes received from this host, committed attempts only
	Unread   int64         // bytes of committed chunks the worker left unread on this host
	Busy     time.Duration // wall time during which at least one of its slots held an attempt; see below
	SlotTime time.Duration // time its slots held attempts, added up over the slots; see below
	Down     bool          // whether the host was down when the run ended
	Retired  bool          // whether the host was retired from the run (Dispatcher.RetireHost) when it ended
	LastErr  error         // the host's last error, if any

	// Speculative counts the speculative copies started on this host.
	Speculative int
}

// Throughput returns the input bytes the host took per second of Busy
// time (wall time with at least one slot in use), or 0 when it did no
// work: the host's rate while it worked, whatever its slot count.
func (h HostReport) Throughput() float64 {
	if h.Busy <= 0 {
		return 0
	}
	return float64(h.BytesIn) / h.Busy.Seconds()
}

// TotalHost is the Host of [Report.Total], and of the totals row and
// object that [Report.WriteCSV] and [Report.WriteJSON] write. The
// parentheses keep it apart from any real host name.
const TotalHost = "(total)"

// Total sums the hosts' reports: slots, counts, bytes and SlotTime. Its
// Busy is not a sum but [Report.Busy], the wall time during which any
// host was busy, so it never exceeds Elapsed. Its Host is [TotalHost],
// its Down is true when any host was down, and its LastErr is nil. Its
// Throughput is the total input over that Busy: the whole run's rate
// while it worked.
func (r *Report) Total() HostReport {
	t := HostReport{Host: TotalHost, Busy: r.Busy}
	for _, h := range r.Hosts {
		t.Slots += h.Slots
		t.Done += h.Done
		t.Failures += h.Failures
		t.Lost += h.Lost
		t.Timeouts += h.Timeouts
		t.Retries += h.Retries
		t.Stalled += h.Stalled
		t.Speculative += h.Speculative
		t.BytesIn += h.BytesIn
		t.BytesOut += h.BytesOut
		t.Unread += h.Unread
		t.SlotTime += h.SlotTime
		t.Down = t.Down || h.Down
	}
	return t
}

// reportCSVHeader is the header row of WriteCSV.
var reportCSVHeader = []string{
	"host", "slots", "done", "bytes_in", "bytes_out", "busy_seconds", "slot_seconds",
	"throughput_bytes_per_s", "failures", "lost", "retries", "timeouts", "stalled", "speculative",
	"unread_bytes", "down", "retired", "last_error",
}

// WriteCSV writes the report's hosts as CSV: a header row
//
//	host,slots,done,bytes_in,bytes_out,busy_seconds,slot_seconds,throughput_bytes_per_s,failures,lost,retries,timeouts,stalled,speculative,unread_bytes,down,retired,last_error
//
// one row per host in the report's order, and a last row for [TotalHost]
// (see [Report.Total]). busy_seconds and slot_seconds are Busy and
// SlotTime (see [HostReport]); timeouts, stalled, speculative and
// unread_bytes are HostReport's Timeouts, Stalled, Speculative and Unread;
// retired is true for a host retired during the run (false in the total
// row, which has no single host to retire). Seconds and throughput have three and two
// decimals; a field that needs it (a host name with a comma, an error
// text with a newline) is quoted as RFC 4180 says.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(reportCSVHeader)
	for _, h := range append(r.hostStats(), newHostStats(r.Total())) {
		cw.Write([]string{
			h.Host, strconv.Itoa(h.Slots), strconv.Itoa(h.Done),
			strconv.FormatInt(h.BytesIn, 10), strconv.FormatInt(h.BytesOut, 10),
			strconv.FormatFloat(h.BusySeconds, 'f', 3, 64), strconv.FormatFloat(h.SlotSeconds, 'f', 3, 64),
			strconv.FormatFloat(h.Throughput, 'f', 2, 64),
			strconv.Itoa(h.Failures), strconv.Itoa(h.Lost), strconv.Itoa(h.Retries),
			strconv.Itoa(h.Timeouts), strconv.Itoa(h.Stalled), strconv.Itoa(h.Speculative),
			strconv.FormatInt(h.Unread, 10), strconv.FormatBool(h.Down), strconv.FormatBool(h.Retired), h.LastError,
		})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as one indented JSON object followed by a
// newline: the run's figures ("run", "chunks", "done", "failed",
// "resumed", "bytes_in", "bytes_out", "elapsed_seconds", "busy_seconds",
// "slot_seconds", "speculative", "unread_bytes", "unread_chunks"), "hosts", an
// array with one object per host, and "total", the same object for
// [Report.Total]. A host object has the columns of [Report.WriteCSV] as
// keys ("throughput_bytes_per_s" is input bytes per second of busy time),
// and leaves "last_error" out when there is none. Durations are in
// seconds.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(runStats{
		Run: r.Run, Chunks: r.Chunks, Done: r.Done, Failed: r.Failed, Resumed: r.Resumed,
		BytesIn: r.BytesIn, BytesOut: r.BytesOut, ElapsedSeconds: r.Elapsed.Seconds(),
		BusySeconds: r.Busy.Seconds(), SlotSeconds: r.SlotTime.Seconds(),
		Speculative: r.Speculative, Unread: r.Unread, UnreadChunks: unreadChunks(r.UnreadChunks),
		Hosts: r.hostStats(), Total: newHostStats(r.Total()),
	})
}

// runStats is the JSON shape of a Report.
type runStats struct {
	Run            string      `json:"run"`
	Chunks         int         `json:"chunks"`
	Done           int         `json:"done"`
	Failed         int         `json:"failed"`
	Resumed        int         `json:"resumed"`
	BytesIn        int64       `json:"bytes_in"`
	BytesOut       int64       `json:"bytes_out"`
	ElapsedSeconds float64     `json:"elapsed_seconds"`
	BusySeconds    float64     `json:"busy_seconds"`
	SlotSeconds    float64     `json:"slot_seconds"`
	Speculative    int         `json:"speculative"`
	Unread         int64       `json:"unread_bytes"`
	UnreadChunks   []int       `json:"unread_chunks"`
	Hosts          []hostStats `json:"hosts"`
	Total          hostStats   `json:"total"`
}

// hostStats is the JSON (and CSV) shape of a HostReport.
type hostStats struct {
	Host        string  `json:"host"`
	Slots       int     `json:"slots"`
	Done        int     `json:"done"`
	BytesIn     int64   `json:"bytes_in"`
	BytesOut    int64   `json:"bytes_out"`
	BusySeconds float64 `json:"busy_seconds"`
	SlotSeconds float64 `json:"slot_seconds"`
	Throughput  float64 `json:"throughput_bytes_per_s"`
	Failures    int     `json:"failures"`
	Lost        int     `json:"lost"`
	Retries     int     `json:"retries"`
	Timeouts    int     `json:"timeouts"`
	Stalled     int     `json:"stalled"`
	Speculative int     `json:"speculative"`
	Unread      int64   `json:"unread_bytes"`
	Down        bool    `json:"down"`
	Retired     bool    `json:"retired"`
	LastError   string  `json:"last_error,omitempty"`
}

func (r *Report) hostStats() []hostStats {
	out := make([]hostStats, 0, len(r.Hosts))
	for _, h := range r.Hosts {
		out = append(out, newHostStats(h))
	}
	return out
}

func newHostStats(h HostReport) hostStats {
	hs := hostStats{
		Host: h.Host, Slots: h.Slots, Done: h.Done, BytesIn: h.BytesIn, BytesOut: h.BytesOut,
		BusySeconds: h.Busy.Seconds(), SlotSeconds: h.SlotTime.Seconds(), Throughput: h.Throughput(),
		Failures: h.Failures, Lost: h.Lost, Retries: h.Retries, Timeouts: h.Timeouts, Stalled: h.Stalled,
		Speculative: h.Speculative, Unread: h.Unread, Down: h.Down, Retired: h.Retired,
	}
	if h.LastErr != nil {
		hs.LastError = h.LastErr.Error()
	}
	return hs
}

// unreadChunks returns chunks, or an empty list for none, so that JSON
// shows [] rather than null.
func unreadChunks(chunks []int) []int {
	if chunks == nil {
		return []int{}
	}
	return chunks
}
