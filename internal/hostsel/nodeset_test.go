package hostsel

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		in   string
		want string // space-separated
	}{
		{"node1", "node1"},
		{"node[1-3,7]", "node1 node2 node3 node7"},
		{"web[01-10]", "web01 web02 web03 web04 web05 web06 web07 web08 web09 web10"},
		{"n[9-11]", "n9 n10 n11"},
		{"n[08-11]", "n08 n09 n10 n11"},
		{"n[001-003]", "n001 n002 n003"},
		{"n[0-2]", "n0 n1 n2"},
		{"n[00-02]", "n00 n01 n02"},
		{"n[007]", "n007"},
		{"node[01-03,7]", "node01 node02 node03 node7"},
		{"r[1-2]n[1-3]", "r1n1 r1n2 r1n3 r2n1 r2n2 r2n3"},
		{"rack[1-2]-n[1-2].dc", "rack1-n1.dc rack1-n2.dc rack2-n1.dc rack2-n2.dc"},
		{"n[1-2][3-4]", "n13 n14 n23 n24"},
		{"n1[0-2]", "n10 n11 n12"},
		{"[1-3]", "1 2 3"},
		{"10.0.0.[1-3]", "10.0.0.1 10.0.0.2 10.0.0.3"},
		{"n[1-10/3]", "n1 n4 n7 n10"},
		{"node[1-3,7],web[01-02]", "node1 node2 node3 node7 web01 web02"},
		{"a,b,c", "a b c"},
		{"b,a", "b a"},
		{"n[5,1-3]", "n5 n1 n2 n3"},
		{"n[1-3,2]", "n1 n2 n3"},
		{"n1,n1,n2,n1", "n1 n2"},
		{"n[1-2],n[2-3]", "n1 n2 n3"},
		{"  n1 , n2  ", "n1 n2"},
		{"n1 n2\tn3", "n1 n2 n3"},
		{"n[ 1 - 3 , 5 ]", "n1 n2 n3 n5"},
		{"my_host.example-1.org", "my_host.example-1.org"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expand(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, strings.Join(got, " "))
		})
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
		is   error
	}{
		{"node1,[1-", "hosts: column 7: unclosed '['", ErrSyntax},
		{"n[1-3", "hosts: column 2: unclosed '['", ErrSyntax},
		{"n[1,2", "hosts: column 2: unclosed '['", ErrSyntax},
		{"n[1-2]]", "hosts: column 7: ']' without '['", ErrSyntax},
		{"n1]", "hosts: column 3: ']' without '['", ErrSyntax},
		{"n[]", "hosts: column 3: empty range in '[...]'", ErrSyntax},
		{"n[1,,2]", "hosts: column 5: empty range in '[...]'", ErrSyntax},
		{"n[1-]", "hosts: column 5: range 1- has no end", ErrSyntax},
		{"n[a-b]", "hosts: column 3: unexpected 'a' in range (want digits)", ErrSyntax},
		{"n[1[2]]", "hosts: column 4: unexpected '[' in range", ErrSyntax},
		{"n[[1]]", "hosts: column 3: '[' inside '[...]'", ErrSyntax},
		{"n[3-1]", "hosts: column 3: range 3-1 goes down (write 1-3)", ErrSyntax},
		{"n[01-9]", "hosts: column 3: padding length mismatch in 01-9 (write both ends with the same width)", ErrSyntax},
		{"n[1-010]", "hosts: column 3: padding length mismatch in 1-010 (write both ends with the same width)", ErrSyntax},
		{"n[1-9/0]", "hosts: column 7: step 0 must be at least 1", ErrSyntax},
		{"n[1-9/]", "hosts: column 7: '/' without a step", ErrSyntax},
		{"n[5/2]", "hosts: column 4: a step needs a range (5-N/step)", ErrSyntax},
		{"n[1-2x]", "hosts: column 6: unexpected 'x' in range", ErrSyntax},
		{"n[1234567890123456789]", "hosts: column 3: number 1234567890123456789 is too long (at most 18 digits)", ErrSyntax},
		{"a,,b", "hosts: column 3: empty host name before ','", ErrSyntax},
		{",a", "hosts: column 1: empty host name before ','", ErrSyntax},
		{"a,", "hosts: column 2: empty host name after ','", ErrSyntax},
		{"a, ", "hosts: column 2: empty host name after ','", ErrSyntax},
		{"x@y", "hosts: column 2: unexpected '@' in host name", ErrSyntax},
		{"-oProxyCommand", "hosts: column 1: a host name cannot start with '-'", ErrSyntax},
		{"n1,-n2", "hosts: column 4: a host name cannot start with '-'", ErrSyntax},
		{"n!n2", "hosts: column 2: unexpected '!' in host name", ErrSyntax},
		{"@group", "hosts: column 1: unexpected '@' in host name", ErrSyntax},
		{"n*", "hosts: column 2: unexpected '*' in host name", ErrSyntax},
		{"héllo", "hosts: column 2: unexpected 'é' in host name", ErrSyntax},
		{"ñ,a[", "hosts: column 1: unexpected 'ñ' in host name", ErrSyntax},
		{"é,a[", "hosts: column 1: unexpected 'é' in host name", ErrSyntax},
		{"aé[", "hosts: column 2: unexpected 'é' in host name", ErrSyntax},
		{"a\x01", "hosts: column 2: unexpected control character U+0001 in host name", ErrSyntax},
		{"node[1-100000000]", "hosts: column 5: expands to more than 100000 hosts", ErrTooMany},
		{"n[1-100001]", "hosts: column 2: expands to more than 100000 hosts", ErrTooMany},
		{"n[1-1000]m[1-1000]", "hosts: column 1: expands to more than 100000 hosts", ErrTooMany},
		{"a[1-60000],b[1-60000]", "hosts: column 13: expands to more than 100000 hosts", ErrTooMany},
		{"n[1-60000,1-60000]", "hosts: column 2: expands to more than 100000 hosts", ErrTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expand(tt.in)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, tt.is)
			other := ErrTooMany
			if tt.is == ErrTooMany {
				other = ErrSyntax
			}
			assert.False(t, errors.Is(err, other), "matches %v too", other)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "hosts", se.Source)
		})
	}
}

func TestExpandAtLimit(t *testing.T) {
	got, err := Expand("n[1-100000]")
	require.NoError(t, err)
	assert.Len(t, got, MaxHosts)
	assert.Equal(t, "n100000", got[MaxHosts-1])
}

func TestFold(t *testing.T) {
	tests := []struct {
		in   string // space-separated names
		want string
	}{
		{"", ""},
		{"n1", "n1"},
		{"n1 n2 n3 n7", "n[1-3,7]"},
		{"n7 n3 n1 n2", "n[1-3,7]"},
		{"n1 n1 n2", "n[1-2]"},
		{"web01 web02 web03 web04 web05 web06 web07 web08 web09 web10", "web[01-10]"},
		{"web01 web02 web10", "web[01-02,10]"},
		{"n1 n01", "n[1,01]"},
		{"n1 n2 n01 n02", "n[1-2,01-02]"},
		{"n9 n10 n11", "n[9-11]"},
		{"n09 n10 n11", "n[09-11]"},
		{"n8 n9 n10 n010", "n[8-10,010]"},
		{"n0 n00 n000", "n[0,00,000]"},
		{"n001 n002 n1000", "n[001-002,1000]"},
		{"x1 x3 x5 x7", "x[1,3,5,7]"},
		{"n1 n2 n3 n5 n6 n7 n9", "n[1-3,5-7,9]"},
		{"foo bar baz1", "bar,baz1,foo"},
		{"n1 m1", "m1,n1"},
		{"n n1", "n,n1"},
		{"1 2 3", "[1-3]"},
		{"n1x n2x", "n[1-2]x"},
		{"r1n1 r1n2 r2n1 r2n2", "r[1-2]n[1-2]"},
		{"r1n1 r1n2 r2n1", "r1n[1-2],r2n1"},
		{"r1n1 r1n2 r1n3 r2n1 r2n3", "r1n[1-3],r2n[1,3]"},
		{"a1b1 a1b2 a2b1 a2b3", "a1b[1-2],a2b[1,3]"},
		{"n1-1 n1-2 n2-1 n2-2", "n[1-2]-[1-2]"},
		{"n1x2 n1x3 n2x2 n2x3 n3x2", "n[1-2]x[2-3],n3x2"},
		{"10.0.0.1 10.0.0.2 10.0.1.1", "10.0.0.[1-2],10.0.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, Fold(strings.Fields(tt.in)))
		})
	}
}

func TestFoldExpandRoundTrip(t *testing.T) {
	for _, expr := range []string{"node[1-3,7],web[01-10]", "n[1,01,001]", "r[1-4]n[1-3]-e[7,9]", "a,b[1-2],c[08-12]"} {
		t.Run(expr, func(t *testing.T) {
			names, err := Expand(expr)
			require.NoError(t, err)
			back, err := Expand(Fold(names))
			require.NoError(t, err)
			assert.ElementsMatch(t, names, back)
			assert.Equal(t, Sorted(names), back, "Expand(Fold(x)) is in Sorted order")
		})
	}
}

func TestSorted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"n10 n9 n01 n1", "n1 n9 n01 n10"},
		{"web02 web10 web01", "web01 web02 web10"},
		{"b a1 a", "a a1 b"},
		{"r2n1 r1n2 r1n1 r1n3 r2n3", "r1n1 r1n2 r1n3 r2n1 r2n3"},
		{"n1 n1", "n1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, strings.Join(Sorted(strings.Fields(tt.in)), " "))
		})
	}
}
