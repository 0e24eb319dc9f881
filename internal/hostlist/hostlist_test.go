package hostlist

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/errdef"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		hosts   []string
		msg     string // "" means valid
		noHosts bool
		repeat  *RepeatedError
	}{
		{"one host", []string{"a"}, "", false, nil},
		{"several hosts", []string{"a", "b", "A"}, "", false, nil},
		{"nil", nil, "invalid argument: no hosts", true, nil},
		{"empty", []string{}, "invalid argument: no hosts", true, nil},
		{"empty name", []string{"a", ""}, "invalid argument: empty host name (hosts[1])", false, nil},
		{"empty name first", []string{"", "a", "a"}, "invalid argument: empty host name (hosts[0])", false, nil},
		{"repeated", []string{"a", "b", "a"}, `invalid argument: host "a" listed twice (hosts[0] and hosts[2])`, false, &RepeatedError{Host: "a", First: 0, Second: 2}},
		{"first repeat wins", []string{"b", "a", "a", "b"}, `invalid argument: host "a" listed twice (hosts[1] and hosts[2])`, false, &RepeatedError{Host: "a", First: 1, Second: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.hosts)
			if tt.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.EqualError(t, err, tt.msg)
			assert.ErrorIs(t, err, errdef.ErrInvalid)
			assert.Equal(t, tt.noHosts, errors.Is(err, errdef.ErrNoHosts))
			var re *RepeatedError
			if tt.repeat == nil {
				assert.False(t, errors.As(err, &re))
				return
			}
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.repeat, re)
		})
	}
}
