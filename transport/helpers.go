package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// nilTransport is the error of Ping, Remove and Checksums given a nil
// Transport: an [*OpError] matching [ErrInvalid].
func nilTransport(op, host string) error {
	return &OpError{Op: op, Host: host, Err: errInvalid("nil Transport")}
}

// Ping checks that host can run commands now. It uses the [Pinger] of t,
// found as [Capability] finds it (on t or along its Unwrap chain), and runs
// "true" on the host otherwise.
//
// The errors follow the Pinger rules: nil when the host answers; an error
// matching [ErrLost] when it cannot be reached or went away; an error that
// does not match ErrLost for a refusal (an unknown host, a refused host key
// or login, an invalid request, a closed Transport) or when ctx ends. When
// "true" runs and exits non-zero, the host is reported lost with the exit
// status in the text, and the error does not hold the [*ExitError] (an
// error is lost or failed, never both).
func Ping(ctx context.Context, t Transport, host string) error {
	if t == nil {
		return nilTransport("ping", host)
	}
	if p, ok := Capability[Pinger](t); ok {
		return p.Ping(ctx, host)
	}
	err := t.Run(ctx, host, &Command{Args: []string{"true"}})
	var ee *ExitError
	if err != nil && ctx.Err() == nil && errors.As(err, &ee) {
		return &OpError{Op: "ping", Host: host, Err: Lost(fmt.Errorf("probe %s", ee.what()))}
	}
	return err
}

// Remove deletes the file at p on host. It uses the [Remover] of t, found as
// [Capability] finds it, and runs "rm -f -- p" on the host otherwise. A
// missing file is not an error. p is read as [HomeRel] reads it.
func Remove(ctx context.Context, t Transport, host, p string) error {
	if t == nil {
		return nilTransport("remove", host)
	}
	rel, err := HomeRel(p)
	if err != nil {
		return &OpError{Op: "remove", Host: host, Path: p, Err: err}
	}
	if r, ok := Capability[Remover](t); ok {
		return r.Remove(ctx, host, rel)
	}
	return t.Run(ctx, host, &Command{Args: []string{"rm", "-f", "--", rel}})
}

// Checksums returns the lowercase hex SHA-256 digest of each file in paths on
// host, in order. Each path is read as [HomeRel] reads it.
//
// It uses the [Checksummer] of t, found as [Capability] finds it (one round
// trip). Otherwise it runs "sha256sum -- PATHS" on the host with Run (one
// round trip, and one Get for each file sha256sum could not read, which
// tells a missing file from another failure). When the host has no
// sha256sum (an error matching [ErrCommandNotFound]), it fetches each file
// with Get and hashes it here.
//
// Whatever the path taken, a file that does not exist gives an error
// matching [fs.ErrNotExist], an [*OpError] naming the first missing path;
// the digests are then returned too, with "" at the position of each
// missing file, so that a caller that only wants to know what is there (to
// send what is not) can go on.
func Checksums(ctx context.Context, t Transport, host string, paths []string) ([]string, error) {
	if t == nil {
		return nil, nilTransport("checksum", host)
	}
	rel := make([]string, len(paths))
	for i, p := range paths {
		r, err := HomeRel(p)
		if err != nil {
			return nil, &OpError{Op: "checksum", Host: host, Path: p, Err: err}
		}
		rel[i] = r
	}
	sums, err := checksums(ctx, t, host, rel)
	if err != nil {
		return nil, err
	}
	first, n := -1, 0
	for i, s := range sums {
		if s == "" {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	switch {
	case n == 1:
		return sums, &OpError{Op: "checksum", Host: host, Path: paths[first], Err: fs.ErrNotExist}
	case n > 1:
		return sums, &OpError{Op: "checksum", Host: host, Path: paths[first],
			Err: fmt.Errorf("%w (%d of the %d files are missing)", fs.ErrNotExist, n, len(paths))}
	}
	return sums, nil
}

// checksums is [Checksums] with paths already read by HomeRel, and with ""
// and no error for a missing file, as [Checksummer] reports it.
func checksums(ctx context.Context, t Transport, host string, paths []string) ([]string, error) {
	if c, ok := Capability[Checksummer](t); ok {
		sums, err := c.Checksum(ctx, host, paths)
		if err == nil && len(sums) != len(paths) {
			err = &OpError{Op: "checksum", Host: host, Err: fmt.Errorf("the transport returned %d digests for %d files", len(sums), len(paths))}
		}
		return sums, err
	}
	if len(paths) == 0 {
		return []string{}, nil
	}
	sums := make([]string, len(paths))
	unread, err := shellSums(ctx, t, host, paths, sums)
	switch {
	case errors.Is(err, ErrCommandNotFound):
		unread = make([]int, len(paths))
		for i := range unread {
			unread[i] = i
		}
	case err != nil:
		return nil, err
	}
	for _, i := range unread {
		h := sha256.New()
		err := t.Get(ctx, host, paths[i], h)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, err
		}
		sums[i] = hex.EncodeToString(h.Sum(nil))
	}
	return sums, nil
}

// shellSums runs "sha256sum -- paths" on host and fills sums with what it
// printed. It returns the indexes of the paths it printed no digest for
// (sha256sum could not read them: missing, a directory, no permission),
// which the caller finds out about with Get. A run that failed otherwise
// (exit status other than 1, lost host, ctx) is returned as an error.
func shellSums(ctx context.Context, t Transport, host string, paths, sums []string) (unread []int, err error) {
	var out bytes.Buffer
	args := append([]string{"sha256sum", "--"}, paths...)
	err = t.Run(ctx, host, &Command{Args: args, Stdout: &out})
	var ee *ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Code == 1 && ee.Signal == "") {
		return nil, err
	}
	next := 0
	for _, line := range splitSumLines(out.String()) {
		sum, name, ok := parseSumLine(line)
		if !ok {
			return nil, &OpError{Op: "checksum", Host: host, Err: fmt.Errorf("unexpected sha256sum output line %q", truncate(line, 200))}
		}
		for k := next; k < len(paths); k++ {
			if paths[k] == name {
				sums[k] = sum
				next = k + 1
				break
			}
		}
	}
	for i, s := range sums {
		if s == "" {
			unread = append(unread, i)
		}
	}
	return unread, nil
}

func splitSumLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// parseSumLine reads one line of GNU sha256sum output: the digest, two
// spaces (or a space and '*'), and the name, with a leading backslash when
// the name was escaped ("\\" for a backslash, "\n" for a newline, "\r"
// for a carriage return).
func parseSumLine(line string) (sum, name string, ok bool) {
	escaped := strings.HasPrefix(line, "\\")
	if escaped {
		line = line[1:]
	}
	if len(line) < 66 || (line[64:66] != "  " && line[64:66] != " *") {
		return "", "", false
	}
	sum, name = line[:64], line[66:]
	if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum {
		return "", "", false
	}
	if escaped {
		var b strings.Builder
		for i := 0; i < len(name); i++ {
			if name[i] != '\\' || i+1 == len(name) {
				b.WriteByte(name[i])
				continue
			}
			i++
			switch name[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(name[i])
			}
		}
		name = b.String()
	}
	return sum, name, true
}
