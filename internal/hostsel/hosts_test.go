package hostsel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/errdef"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []Host
	}{
		{"n1", []Host{{Name: "n1"}}},
		{"alice@n1", []Host{{Name: "n1", User: "alice"}}},
		{"n1:2222", []Host{{Name: "n1", Port: 2222}}},
		{"4/n1", []Host{{Name: "n1", Slots: 4}}},
		{"2/alice@hostA:2222", []Host{{Name: "hostA", User: "alice", Port: 2222, Slots: 2}}},
		{"bob@web[01-02]:22", []Host{{Name: "web01", User: "bob", Port: 22}, {Name: "web02", User: "bob", Port: 22}}},
		{"8/n[1-10/5]", []Host{{Name: "n1", Slots: 8}, {Name: "n6", Slots: 8}}},
		{"[::1]:2222", []Host{{Name: "::1", Port: 2222}}},
		{"[::1]", []Host{{Name: "::1"}}},
		{"alice@[fe80::1%eth0]:22", []Host{{Name: "fe80::1%eth0", User: "alice", Port: 22}}},
		{"::1", []Host{{Name: "::1"}}},
		{"2001:db8::7", []Host{{Name: "2001:db8::7"}}},
		{"3/[2001:db8::7]", []Host{{Name: "2001:db8::7", Slots: 3}}},
		{"10.0.0.[1-2]:2200", []Host{{Name: "10.0.0.1", Port: 2200}, {Name: "10.0.0.2", Port: 2200}}},
		{"my-alias", []Host{{Name: "my-alias"}}},
		{"n1, alice@n1 n1:22,n1", []Host{{Name: "n1"}, {Name: "n1", User: "alice"}, {Name: "n1", Port: 22}}},
		{"2/n1,4/n1", []Host{{Name: "n1", Slots: 2}}},
		{"n[1-2],n2,n1", []Host{{Name: "n1"}, {Name: "n2"}}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{":", "hosts: column 1: ':' (the local computer in GNU parallel) is not a host; give no hosts to run locally"},
		{"n1,:", "hosts: column 4: ':' (the local computer in GNU parallel) is not a host; give no hosts to run locally"},
		{"0/n1", "hosts: column 1: slots 0 must be 1 to 100000"},
		{"1000000/n1", "hosts: column 1: slots 1000000 must be 1 to 100000"},
		{"@n1", "hosts: column 1: empty user name before '@'"},
		{"a/b@n1", "hosts: column 2: unexpected '/' in user name"},
		{"-l@n1", "hosts: column 1: a user name cannot start with '-'"},
		{"ssh -p 2222 n1", "hosts: column 5: a host name cannot start with '-'"},
		{"alice@-n1", "hosts: column 7: a host name cannot start with '-'"},
		{"a!b@n1", "hosts: column 2: unexpected '!' in user name"},
		{"alice@", "hosts: column 7: empty host name"},
		{"n1:", "hosts: column 4: port \"\" must be 1 to 65535"},
		{"n1:0", "hosts: column 4: port \"0\" must be 1 to 65535"},
		{"n1:65536", "hosts: column 4: port \"65536\" must be 1 to 65535"},
		{"n1:22x", "hosts: column 6: unexpected 'x'"},
		{"n1:22:33", "hosts: column 1: bad IPv6 address \"n1:22:33\" (write [ADDR]:PORT to give a port)"},
		{"[::zz]:22", "hosts: column 2: bad IPv6 address \"::zz\""},
		{"[::1]x", "hosts: column 6: unexpected 'x'"},
		{"node1,[1-", "hosts: column 7: unclosed '['"},
		{"alice@n[1-3", "hosts: column 8: unclosed '['"},
		{"n[1-200000]", "hosts: column 2: expands to more than 100000 hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			assert.Nil(t, got)
			assert.EqualError(t, err, tt.want)
			var se *SyntaxError
			assert.ErrorAs(t, err, &se)
		})
	}
}

func TestHostString(t *testing.T) {
	tests := []struct {
		h            Host
		login, whole string
	}{
		{Host{Name: "n1"}, "n1", "n1"},
		{Host{Name: "n1", User: "alice", Port: 2222, Slots: 2}, "alice@n1:2222", "2/alice@n1:2222"},
		{Host{Name: "::1", Port: 22}, "[::1]:22", "[::1]:22"},
		{Host{Name: "::1"}, "[::1]", "[::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.whole, func(t *testing.T) {
			assert.Equal(t, tt.login, tt.h.Login())
			assert.Equal(t, tt.whole, tt.h.String())
			back, err := Parse(tt.h.String())
			require.NoError(t, err)
			assert.Equal(t, []Host{tt.h}, back)
		})
	}
}

func TestParseHostfile(t *testing.T) {
	const file = `# cluster A
node[1-3]

4/alice@web[01-02]:2222   # the web tier
  8/[::1]:22
node2
n9, n10 n11
#node99
`
	got, err := ParseHostfile(strings.NewReader(file), "hosts.txt")
	require.NoError(t, err)
	assert.Equal(t, []Host{
		{Name: "node1"}, {Name: "node2"}, {Name: "node3"},
		{Name: "web01", User: "alice", Port: 2222, Slots: 4},
		{Name: "web02", User: "alice", Port: 2222, Slots: 4},
		{Name: "::1", Port: 22, Slots: 8},
		{Name: "n9"}, {Name: "n10"}, {Name: "n11"},
	}, got)
}

func TestParseHostfileErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"n1\n\n  n[1-3\n", "hosts.txt:3: column 4: unclosed '['"},
		{"n1\n0/n2\n", "hosts.txt:2: column 1: slots 0 must be 1 to 100000"},
		{"# only\nn1 # ok\nn1:x # bad\n", "hosts.txt:3: column 4: port \"x\" must be 1 to 65535"},
		{"a[1-60000]\nb[1-60000]\n", "hosts.txt:2: column 2: expands to more than 100000 hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseHostfile(strings.NewReader(tt.file), "hosts.txt")
			assert.EqualError(t, err, tt.want)
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := ParseHostfile(iotest.ErrReader(boom), "hosts.txt")
		assert.ErrorIs(t, err, boom)
		assert.EqualError(t, err, "hostfile hosts.txt: boom")
	})
}

func TestReadHostfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hosts")
	require.NoError(t, os.WriteFile(path, []byte("n[1-2]\n"), 0o600))
	got, err := ReadHostfile(path)
	require.NoError(t, err)
	assert.Equal(t, []Host{{Name: "n1"}, {Name: "n2"}}, got)

	_, err = ReadHostfile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestExclude(t *testing.T) {
	hosts, err := Parse("node[1-5],web[01-03],alice@db1:2222,rack[1-2]-n[1-2]")
	require.NoError(t, err)
	tests := []struct{ exclude, want string }{
		{"node3", "db1,node[1-2,4-5],rack[1-2]-n[1-2],web[01-03]"},
		{"node[2-4,9]", "db1,node[1,5],rack[1-2]-n[1-2],web[01-03]"},
		{"web*", "db1,node[1-5],rack[1-2]-n[1-2]"},
		{"web0?,db1", "node[1-5],rack[1-2]-n[1-2]"},
		{"rack[1]-*", "db1,node[1-5],rack2-n[1-2],web[01-03]"},
		{"*-n2 node1", "db1,node[2-5],rack[1-2]-n1,web[01-03]"},
		{"web1", "db1,node[1-5],rack[1-2]-n[1-2],web[01-03]"},
		{"*", ""},
		{"", "db1,node[1-5],rack[1-2]-n[1-2],web[01-03]"},
	}
	for _, tt := range tests {
		t.Run(tt.exclude, func(t *testing.T) {
			m, err := ParseExclude(tt.exclude)
			require.NoError(t, err)
			assert.Equal(t, tt.want, Fold(Names(Exclude(hosts, m))))
		})
	}
}

func TestParseExcludeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@n1", "exclude: column 6: unexpected '@' in host name"},
		{"n1:22", "exclude: column 3: unexpected ':' in host name"},
		{"n[1-", "exclude: column 2: unclosed '['"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseExclude(tt.in)
			assert.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"*", "abc", true},
		{"a*", "abc", true},
		{"a*", "bac", false},
		{"*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"?", "a", true},
		{"?", "", false},
		{"a?c", "abc", true},
		{"a?c", "abbc", false},
		{"*.dc", "n1.dc", true},
		{"*.dc", "n1xdc", false},
		{"n1", "n1", true},
		{"n1", "n10", false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+" "+tt.s, func(t *testing.T) {
			assert.Equal(t, tt.want, globMatch(tt.pat, tt.s))
		})
	}
}

func TestSelect(t *testing.T) {
	dir := t.TempDir()
	hf := filepath.Join(dir, "hosts")
	require.NoError(t, os.WriteFile(hf, []byte("# more\nn[3-5]\n2/db1\n"), 0o600))

	t.Run("nothing given", func(t *testing.T) {
		got, err := Select(Options{Exclude: []string{"n1"}})
		require.NoError(t, err)
		assert.Nil(t, got)
	})
	t.Run("hosts then hostfiles, deduplicated, excluded", func(t *testing.T) {
		got, err := Select(Options{Hosts: []string{"n[1-3]", "n4"}, Hostfiles: []string{hf}, Exclude: []string{"n2", "n5"}})
		require.NoError(t, err)
		assert.Equal(t, []Host{{Name: "n1"}, {Name: "n3"}, {Name: "n4"}, {Name: "db1", Slots: 2}}, got)
	})
	t.Run("all excluded", func(t *testing.T) {
		_, err := Select(Options{Hosts: []string{"n[1-3]"}, Exclude: []string{"n*"}})
		assert.ErrorIs(t, err, ErrNoHosts)
		assert.ErrorIs(t, err, errdef.ErrNoHosts, "the no-hosts value every dproc package shares")
		assert.EqualError(t, err, "hostsel: all 3 hosts excluded by -x n*: no hosts")
	})
	t.Run("empty lists", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		require.NoError(t, os.WriteFile(empty, []byte("# nothing yet\n"), 0o600))
		_, err := Select(Options{Hosts: []string{" "}, Hostfiles: []string{empty}})
		assert.ErrorIs(t, err, ErrNoHosts)
		assert.ErrorIs(t, err, errdef.ErrNoHosts)
		assert.EqualError(t, err, "hostsel: the host lists are empty: no hosts")
	})
	t.Run("bad hosts", func(t *testing.T) {
		_, err := Select(Options{Hosts: []string{"n[1-"}})
		assert.EqualError(t, err, "hosts: column 2: unclosed '['")
	})
	t.Run("bad exclude", func(t *testing.T) {
		_, err := Select(Options{Hosts: []string{"n1"}, Exclude: []string{"a@b"}})
		assert.EqualError(t, err, "exclude: column 2: unexpected '@' in host name")
	})
	t.Run("missing hostfile", func(t *testing.T) {
		_, err := Select(Options{Hostfiles: []string{filepath.Join(dir, "nope")}})
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("too many in all", func(t *testing.T) {
		_, err := Select(Options{Hosts: []string{"a[1-60000]", "b[1-60000]"}})
		assert.ErrorIs(t, err, ErrTooMany)
		big := filepath.Join(dir, "big")
		require.NoError(t, os.WriteFile(big, []byte("c[1-60000]\n"), 0o600))
		_, err = Select(Options{Hosts: []string{"a[1-60000]"}, Hostfiles: []string{big}})
		assert.ErrorIs(t, err, ErrTooMany)
	})
}

func TestNames(t *testing.T) {
	assert.Equal(t, []string{"n1", "n2"}, Names([]Host{{Name: "n1"}, {Name: "n1", User: "a"}, {Name: "n2"}}))
}
