package nodeops

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"dproc/transport"
)

// stampData is the content of a stamp written at now for digest.
func stampData(now time.Time, digest string) []byte {
	return fmt.Appendf(nil, "synced %s\ndigest %s\n", now.UTC().Format(time.RFC3339Nano), digest)
}

// writeStamp writes the stamp file p on host with Put, atomically, as the
// last step of a sync.
func writeStamp(ctx context.Context, t transport.Transport, host, p, digest string) error {
	return t.Put(ctx, host, p, bytes.NewReader(stampData(time.Now(), digest)), 0o644)
}

// Stamp is the content of the stamp file [Sync] writes in its destination.
type Stamp struct {
	// Time is when the stamp was written, by the clock of the machine
	// that ran Sync (UTC). The host's own clock at that moment is the
	// stamp file's modification time, given to it by the host when the
	// file is written: compare files on the host against that one (as
	// "find DIR -newer DIR/.dproc-sync" does).
	Time time.Time
	// Digest is the [TreeDigest] of the synced tree.
	Digest string
}

// ParseStamp parses a stamp file written by [Sync]: the lines
// "synced TIME" (RFC 3339 with fractional seconds, UTC) and
// "digest DIGEST".
func ParseStamp(b []byte) (Stamp, error) {
	var s Stamp
	var haveTime bool
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "synced":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return Stamp{}, fmt.Errorf("stamp: %w", err)
			}
			s.Time, haveTime = t, true
		case "digest":
			s.Digest = val
		default:
			return Stamp{}, fmt.Errorf("stamp: unexpected line %q", line)
		}
	}
	if !haveTime {
		return Stamp{}, fmt.Errorf("stamp: no time")
	}
	return s, nil
}
