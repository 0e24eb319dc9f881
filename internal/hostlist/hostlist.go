// Package hostlist checks the host list given to a dproc constructor
// (dispatch.New, metrics.NewSampler), so that every package accepts and
// refuses the same lists with the same errors.
//
// A host list is valid when it names at least one host, no name is empty
// and no name appears twice. Names are compared as they are given: "n1"
// and "N1" are two hosts, as a transport may tell them apart. The errors
// name no package; the caller adds its own name at the wrap site, as in
//
//	if err := hostlist.Check(hosts); err != nil {
//		return nil, fmt.Errorf("metrics: %w", err)
//	}
package hostlist

import (
	"fmt"

	"dproc/internal/errdef"
)

// RepeatedError reports a host named twice in a host list. It wraps
// errdef.ErrInvalid. First and Second are the indexes of its first two
// appearances.
type RepeatedError struct {
	Host          string
	First, Second int
}

func (e *RepeatedError) Error() string {
	return fmt.Sprintf("%v: host %q listed twice (hosts[%d] and hosts[%d])", errdef.ErrInvalid, e.Host, e.First, e.Second)
}

// Unwrap returns errdef.ErrInvalid.
func (e *RepeatedError) Unwrap() error { return errdef.ErrInvalid }

// Check reports whether hosts is a valid host list. An empty list is an
// error wrapping both errdef.ErrNoHosts and errdef.ErrInvalid; an empty
// name is an error wrapping errdef.ErrInvalid that gives its index; a
// repeated name is a [*RepeatedError]. The first problem found, in the
// order of hosts, is reported.
func Check(hosts []string) error {
	if len(hosts) == 0 {
		return fmt.Errorf("%w: %w", errdef.ErrInvalid, errdef.ErrNoHosts)
	}
	seen := make(map[string]int, len(hosts))
	for i, h := range hosts {
		if h == "" {
			return fmt.Errorf("%w: empty host name (hosts[%d])", errdef.ErrInvalid, i)
		}
		if j, ok := seen[h]; ok {
			return &RepeatedError{Host: h, First: j, Second: i}
		}
		seen[h] = i
	}
	return nil
}
