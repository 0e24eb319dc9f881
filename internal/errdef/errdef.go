// Package errdef holds the error values that every dproc package shares, so
// that a caller can test an error of any package against any package's
// name for it.
//
// Each dproc package re-exports these values under its own name
// (split.ErrInvalid, gather.ErrInvalid, ...): they are the same value, so
// errors.Is(err, split.ErrInvalid) and errors.Is(err, gather.ErrInvalid)
// agree on every error. The package that returns an error names itself in
// the message at the wrap site, as in
//
//	fmt.Errorf("split: %w: chunk count %d < 1", ErrInvalid, n)
//
// so the shared value's own text carries no package name.
package errdef

import "errors"

// ErrInvalid is wrapped by every error about an invalid argument or option
// given to a dproc function: a value out of range, a nil input, a bad
// pattern, a destination that cannot be written.
var ErrInvalid = errors.New("invalid argument")

// ErrNoHosts is wrapped by every error about a host list that names no
// host: an empty list given to a constructor, or a selection whose
// exclusions removed every host. Where the empty list is an invalid
// argument, the error wraps [ErrInvalid] too, so that a caller testing
// either value finds it.
var ErrNoHosts = errors.New("no hosts")
