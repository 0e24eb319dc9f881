package errdef_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/gather"
	"dproc/internal/errdef"
	"dproc/internal/hostsel"
	"dproc/metrics"
	"dproc/split"
	"dproc/transport/memtransport"
)

// ErrNoHosts is one value too: the error of each package for an empty host
// list matches every package's name for it.
func TestErrNoHostsShared(t *testing.T) {
	assert.Equal(t, "no hosts", errdef.ErrNoHosts.Error())
	assert.Same(t, errdef.ErrNoHosts, hostsel.ErrNoHosts)
	assert.Same(t, errdef.ErrNoHosts, metrics.ErrNoHosts)

	tr := memtransport.New(nil)
	defer tr.Close()
	_, samplerErr := metrics.NewSampler(tr, nil, nil)
	_, selectErr := hostsel.Select(hostsel.Options{Hosts: []string{"n1"}, Exclude: []string{"n*"}})
	for name, err := range map[string]error{"metrics": samplerErr, "hostsel": selectErr} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, err)
			assert.ErrorIs(t, err, errdef.ErrNoHosts)
			assert.ErrorIs(t, err, hostsel.ErrNoHosts)
			assert.ErrorIs(t, err, metrics.ErrNoHosts)
		})
	}
}

// Every package's ErrInvalid is the one shared value, so an invalid
// argument of either package matches either package's sentinel.
func TestErrInvalidShared(t *testing.T) {
	assert.Same(t, errdef.ErrInvalid, split.ErrInvalid)
	assert.Same(t, errdef.ErrInvalid, gather.ErrInvalid)
	assert.Equal(t, "invalid argument", errdef.ErrInvalid.Error())

	_, splitErr := split.NewInput("in", nil, nil)
	_, gatherErr := gather.Dir(t.TempDir(), &gather.Options{Pattern: "no-verb"})
	for _, tc := range []struct {
		name, prefix string
		err          error
	}{
		{"split", "split: ", splitErr},
		{"gather", "gather: ", gatherErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			assert.ErrorIs(t, tc.err, split.ErrInvalid)
			assert.ErrorIs(t, tc.err, gather.ErrInvalid)
			assert.ErrorIs(t, tc.err, errdef.ErrInvalid)
			assert.True(t, strings.HasPrefix(tc.err.Error(), tc.prefix), "%q starts with %q", tc.err, tc.prefix)
			assert.Equal(t, 1, strings.Count(tc.err.Error(), tc.prefix), "the package is named once in %q", tc.err)
			assert.Contains(t, tc.err.Error(), "invalid argument")
			assert.False(t, errors.Is(tc.err, split.ErrClosed))
		})
	}
}
