package metrics

import (
	"bytes"
	"strings"

	"dproc/metrics/internal/procfs"
)

// ErrParse is wrapped by every error about output from a host that could
// not be parsed. The error text names the section (for example "meminfo" or
// "df") and the offending line.
var ErrParse = procfs.ErrParse

// ParseError reports malformed host output. It matches [ErrParse] with
// errors.Is. Its fields are:
//
//	Section string // the section being parsed: "uptime", "loadavg", "meminfo", ...
//	Line    string // the offending line, truncated; empty when a whole section is missing
//	Msg     string // what is wrong
//
// Its message reads "metrics: section meminfo: want a number of kB:
// "MemTotal: x kB"". It is the error type of the package's /proc parsers
// themselves, so every parse error, whichever parser found it, is this one
// type.
type ParseError = procfs.Error

func parseErr(section, line, msg string) error {
	return procfs.NewError(section, line, msg)
}

// sections splits output made of "##dproc NAME" marker lines into a map
// from NAME to the text that follows the marker, up to the next marker.
// Text before the first marker is ignored.
func sections(b []byte) map[string][]byte {
	out := make(map[string][]byte)
	name, start := "", -1
	for off := 0; off < len(b); {
		end := bytes.IndexByte(b[off:], '\n')
		next := off + end + 1
		if end < 0 {
			end, next = len(b)-off, len(b)
		}
		if n, ok := bytes.CutPrefix(b[off:off+end], []byte(marker)); ok {
			if start >= 0 {
				out[name] = b[start:off]
			}
			name, start = strings.TrimSpace(string(n)), next
		}
		off = next
	}
	if start >= 0 {
		out[name] = b[start:]
	}
	return out
}

// marker starts every section marker line in the output of [StatusScript]
// and [SamplerScript].
const marker = "##dproc "
