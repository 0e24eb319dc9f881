package metrics

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

// The parsers read text from hosts that may be anything: they must never
// panic, and an error must always be a *ParseError.

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(statusOutput(f, "", nil)))
	f.Add([]byte("##dproc df\nFilesystem\n/dev/x 1 2 3 4% /\n##dproc end\n"))
	f.Add([]byte("##dproc meminfo\nMemTotal: 18446744073709551615 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStatus(b)
		if err != nil {
			var pe *ParseError
			if !asParseError(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if st.CPUs < 1 || len(st.Filesystems) == 0 {
			t.Fatalf("accepted an incomplete status: %+v", st)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte(frameText("1 1", "cpu 1 2 3 4", "MemTotal: 1 kB", "8 0 sda 1 2 3 4 5 6 7 8 9 10 11")))
	f.Add([]byte(marker + "end\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		var prev *frame
		for {
			fr, err := readFrame(r)
			if err != nil {
				return
			}
			if prev != nil {
				s := fr.since(prev)
				if s.CPU < 0 || s.CPU > 100 || s.IO < 0 || s.IO > 100 || s.ReadBps < 0 || s.WriteBps < 0 {
					t.Fatalf("out of range: %+v", s)
				}
			}
			prev = fr
		}
	})
}

func asParseError(err error, pe **ParseError) bool { return errors.As(err, pe) }
