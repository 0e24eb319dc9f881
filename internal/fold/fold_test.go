package fold

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/internal/hostsel"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestGroups(t *testing.T) {
	type g struct {
		nodeset, out, status string
	}
	tests := []struct {
		name    string
		results []Result
		want    []g
	}{
		{"none", nil, nil},
		{"one host", []Result{{Host: "n1", Output: []byte("a\n")}}, []g{{"n1", "a\n", ""}}},
		{
			"same output folds",
			[]Result{{"n3", []byte("a\n"), ""}, {"n1", []byte("a\n"), ""}, {"n7", []byte("a\n"), ""}, {"n2", []byte("a\n"), ""}},
			[]g{{"n[1-3,7]", "a\n", ""}},
		},
		{
			"status splits",
			[]Result{{"n1", []byte("a\n"), ""}, {"n2", []byte("a\n"), "exit 1"}, {"n3", []byte("a\n"), ""}},
			[]g{{"n[1,3]", "a\n", ""}, {"n2", "a\n", "exit 1"}},
		},
		{
			"missing final newline is the same output",
			[]Result{{"n1", []byte("a\nb"), ""}, {"n2", []byte("a\nb\n"), ""}},
			[]g{{"n[1-2]", "a\nb\n", ""}},
		},
		{
			"a trailing blank line is not",
			[]Result{{"n1", []byte("a\n"), ""}, {"n2", []byte("a\n\n"), ""}},
			[]g{{"n1", "a\n", ""}, {"n2", "a\n\n", ""}},
		},
		{
			"larger first, then by first host as text",
			[]Result{
				{"web01", []byte("w\n"), ""}, {"n10", []byte("x\n"), ""}, {"n9", []byte("y\n"), ""},
				{"n2", []byte("z\n"), ""}, {"n3", []byte("z\n"), ""},
			},
			[]g{{"n[2-3]", "z\n", ""}, {"n10", "x\n", ""}, {"n9", "y\n", ""}, {"web01", "w\n", ""}},
		},
		{
			"empty output is a group",
			[]Result{{"n1", nil, ""}, {"n2", []byte{}, ""}, {"n3", nil, "exit 2"}},
			[]g{{"n[1-2]", "", ""}, {"n3", "", "exit 2"}},
		},
		{
			"a host twice counts once, first result",
			[]Result{{"n1", []byte("a\n"), ""}, {"n1", []byte("b\n"), "exit 1"}, {"n2", []byte("a\n"), ""}},
			[]g{{"n[1-2]", "a\n", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []g
			for _, gr := range Groups(tt.results) {
				got = append(got, g{gr.NodeSet, string(gr.Output), gr.Status})
				assert.Equal(t, hostsel.Sorted(gr.Hosts), gr.Hosts)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		g    Group
		want string
	}{
		{Group{Hosts: []string{"n1"}, NodeSet: "n1"}, "n1"},
		{Group{Hosts: []string{"n1", "n2"}, NodeSet: "n[1-2]"}, "n[1-2] (2)"},
		{Group{Hosts: []string{"n1"}, NodeSet: "n1", Status: "exit 3"}, "n1 exit 3"},
		{Group{Hosts: []string{"n4", "n5"}, NodeSet: "n[4-5]", Status: "killed by signal 15"}, "n[4-5] (2) killed by signal 15"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.g.Header())
		})
	}
}

// goldenCases are fixed runs whose folded output is kept in testdata/.
var goldenCases = map[string][]Result{
	"uptime": {
		{"node1", []byte(" 12:00:01 up 3 days,  load average: 0.00\n"), ""},
		{"node2", []byte(" 12:00:01 up 3 days,  load average: 0.00\n"), ""},
		{"node3", []byte(" 12:00:01 up 3 days,  load average: 0.00\n"), ""},
		{"node7", []byte(" 12:00:01 up 3 days,  load average: 0.00\n"), ""},
		{"web01", []byte(" 12:00:02 up 9 min,  load average: 1.50\n"), ""},
		{"web02", []byte(" 12:00:02 up 9 min,  load average: 1.50\n"), ""},
	},
	"statuses": {
		{"n1", []byte("ok\n"), ""},
		{"n2", []byte("ok\n"), ""},
		{"n3", []byte("disk full\n"), "exit 1"},
		{"n4", []byte("disk full\n"), "exit 1"},
		{"n5", nil, "unreachable"},
		{"n6", []byte("ok"), ""},
	},
	"logins": {
		{"alice@n1:2222", []byte("a\nb\n"), ""},
		{"alice@n2:2222", []byte("a\nb\n"), ""},
		{"[::1]:22", []byte("a\nb\n"), ""},
	},
}

// TestWriteGolden pins the layout, including what clubak cannot show
// (statuses, empty outputs), to files in testdata/.
func TestWriteGolden(t *testing.T) {
	for name, results := range goldenCases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, Write(&b, results))
			path := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), b.String())
		})
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriteError(t *testing.T) {
	boom := errors.New("boom")
	err := Write(failWriter{boom}, []Result{{"n1", []byte("a\n"), ""}})
	assert.ErrorIs(t, err, boom)
}

// tool returns the path of an installed program, skipping the test when
// it is missing unless DPROC_REQUIRE_SSHD=1 (CI), where that fails it.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
			t.Fatalf("%s not found and DPROC_REQUIRE_SSHD=1: %v", name, err)
		}
		t.Skipf("%s not found (set DPROC_REQUIRE_SSHD=1 to fail instead): %v", name, err)
	}
	return path
}

// generated makes a run from a fixed seed: hosts with a few distinct
// multi-line outputs, and the "host<sep>line" stream a pdsh or clush run
// would print for it, lines of different hosts interleaved.
func generated(seed uint64, sep string) ([]Result, string) {
	rng := rand.New(rand.NewPCG(seed, 99))
	pool := []string{"n1", "n2", "n3", "n7", "n8", "n9", "n10", "n11", "web01", "web02", "web10", "r1n1", "r1n2", "r2n1", "foo", "bar", "db1"}
	texts := []string{
		"same\n",
		"Linux 6.1.0 x86_64\n",
		" 12:00:01 up 3 days,  1 user,  load average: 0.00, 0.01, 0.05\n",
		"line one\n  indented: with colon\n\ntrailing space \n",
		"a\nb\nc\n",
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	hosts := pool[:3+rng.IntN(len(pool)-3)]
	nt := 1 + rng.IntN(len(texts))
	results := make([]Result, len(hosts))
	var lines [][]string
	for i, h := range hosts {
		out := texts[rng.IntN(nt)]
		results[i] = Result{Host: h, Output: []byte(out)}
		var ls []string
		for _, l := range strings.SplitAfter(out, "\n") {
			if l != "" {
				ls = append(ls, h+sep+l)
			}
		}
		lines = append(lines, ls)
	}
	var stream strings.Builder
	for {
		var live []int
		for i, ls := range lines {
			if len(ls) > 0 {
				live = append(live, i)
			}
		}
		if len(live) == 0 {
			break
		}
		i := live[rng.IntN(len(live))]
		stream.WriteString(lines[i][0])
		lines[i] = lines[i][1:]
	}
	return results, stream.String()
}

func runTool(t *testing.T, path, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "%s: %s", path, errb.String())
	return out.String()
}

// TestClubakGenerated checks Write byte for byte against clubak -b.
func TestClubakGenerated(t *testing.T) {
	clubak := tool(t, "clubak")
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			results, stream := generated(seed, ":")
			want := runTool(t, clubak, stream, "-b")
			var got bytes.Buffer
			require.NoError(t, Write(&got, results))
			assert.Equal(t, want, got.String())
		})
	}
}

// TestClubakGolden checks the golden files of successful runs against
// clubak -b, so that they are not only what this package writes.
func TestClubakGolden(t *testing.T) {
	clubak := tool(t, "clubak")
	results := goldenCases["uptime"]
	var stream strings.Builder
	for _, r := range results {
		for _, l := range strings.SplitAfter(string(r.Output), "\n") {
			if l != "" {
				stream.WriteString(r.Host + ":" + l)
			}
		}
	}
	want, err := os.ReadFile(filepath.Join("testdata", "uptime.golden"))
	require.NoError(t, err)
	assert.Equal(t, string(want), runTool(t, clubak, stream.String(), "-b"))
}

// block is one folded block: the hosts, expanded and sorted, and the text.
type block struct{ hosts, text string }

// parseBlocks reads folded output: sep, header (the node set, then
// anything after a space), sep, text lines.
func parseBlocks(t *testing.T, out, sep string) []block {
	t.Helper()
	lines := strings.SplitAfter(out, "\n")
	var blocks []block
	for i := 0; i < len(lines) && lines[i] != ""; {
		require.Equal(t, sep+"\n", lines[i], "line %d", i)
		require.Equal(t, sep+"\n", lines[i+2], "line %d", i+2)
		header, _, _ := strings.Cut(strings.TrimSuffix(lines[i+1], "\n"), " ")
		names, err := hostsel.Expand(header)
		require.NoError(t, err)
		sort.Strings(names)
		var text strings.Builder
		j := i + 3
		for ; j < len(lines) && lines[j] != sep+"\n" && lines[j] != ""; j++ {
			text.WriteString(lines[j])
		}
		blocks = append(blocks, block{strings.Join(names, ","), text.String()})
		i = j
	}
	return blocks
}

// TestDshbakGenerated checks that dshbak -c puts the same hosts together
// with the same text, whatever the order and header form it prints.
func TestDshbakGenerated(t *testing.T) {
	dshbak := tool(t, "dshbak")
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			results, stream := generated(seed, ": ")
			theirs := parseBlocks(t, runTool(t, dshbak, stream, "-c"), "----------------")
			var got bytes.Buffer
			require.NoError(t, Write(&got, results))
			assert.ElementsMatch(t, theirs, parseBlocks(t, got.String(), Separator))
		})
	}
}
