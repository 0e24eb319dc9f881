package fold

import (
	"bytes"
	"io"
	"sort"
	"strconv"

	"dproc/internal/hostsel"
)

// Separator is the line above and below each block's header: 15 dashes,
// as clush -b and clubak -b print.
const Separator = "---------------"

// Result is what one host gave.
type Result struct {
	Host   string // the host as headers name it, usually its name
	Output []byte // everything it printed
	Status string // "" when it succeeded; otherwise how it failed, e.g. "exit 3"
}

// Group is a set of hosts that gave the same output and the same status.
type Group struct {
	Hosts   []string // node-set order (hostsel.Sorted)
	NodeSet string   // Hosts folded: "node[1-3,7]"
	Output  []byte   // the output, ending in a newline unless empty
	Status  string   // the hosts' status; "" for success
}

// normalize ends a non-empty output with a newline.
func normalize(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(append(make([]byte, 0, len(b)+1), b...), '\n')
	}
	return b
}

// Groups gathers hosts with identical output (compared after a missing
// final newline is added) and identical status. Groups come larger
// first, then by their first host in node-set order compared as text, as
// clubak -b orders them. A host given twice counts once, with its first
// result.
func Groups(results []Result) []Group {
	type gkey struct{ out, status string }
	index := map[gkey]int{}
	seen := map[string]bool{}
	var groups []Group
	for _, r := range results {
		if seen[r.Host] {
			continue
		}
		seen[r.Host] = true
		out := normalize(r.Output)
		k := gkey{string(out), r.Status}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, Group{Output: out, Status: r.Status})
		}
		groups[i].Hosts = append(groups[i].Hosts, r.Host)
	}
	for i := range groups {
		groups[i].Hosts = hostsel.Sorted(groups[i].Hosts)
		groups[i].NodeSet = hostsel.Fold(groups[i].Hosts)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if len(a.Hosts) != len(b.Hosts) {
			return len(a.Hosts) > len(b.Hosts)
		}
		return a.Hosts[0] < b.Hosts[0]
	})
	return groups
}

// Header returns the line that names a group: its node set, the host
// count in parentheses when there is more than one host, and the status
// when it is not "": "node[1-3] (3)", "node7", "node[4-5] (2) exit 3".
func (g Group) Header() string {
	h := g.NodeSet
	if len(g.Hosts) > 1 {
		h += " (" + strconv.Itoa(len(g.Hosts)) + ")"
	}
	if g.Status != "" {
		h += " " + g.Status
	}
	return h
}

// WriteGroups writes each group as a block: Separator, the header,
// Separator, then the output.
func WriteGroups(w io.Writer, groups []Group) error {
	var b bytes.Buffer
	for _, g := range groups {
		b.WriteString(Separator + "\n" + g.Header() + "\n" + Separator + "\n")
		b.Write(g.Output)
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		b.Reset()
	}
	return nil
}

// Write groups results and writes them as WriteGroups does.
func Write(w io.Writer, results []Result) error {
	return WriteGroups(w, Groups(results))
}
