package hostsel

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// A name is cut into literal text and digit runs: "r01n3" is the pattern
// "r%sn%s" with the index vector ("01", "3"). Names with the same pattern
// fold together; each digit run is one dimension.

// pattern is one family of names: the literal pieces around the digit
// runs (len(lits) == dims+1) and the names' index vectors.
type pattern struct {
	key  string   // the pieces joined by "%s": the sort key
	lits []string // literal text before, between and after the digit runs
	vecs []rvec   // folded vectors of index sets
}

// rset is a set of indexes kept as strings, sorted shortest first and then
// by text, so "7" < "01" < "10": the order padding-aware folding needs.
type rset []string

// rvec is one index set per dimension; it stands for their product.
type rvec []rset

func idxLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func split(name string) (lits, idx []string) {
	var cur strings.Builder
	i := 0
	for i < len(name) {
		if isDigit(rune(name[i])) {
			j := i
			for j < len(name) && isDigit(rune(name[j])) {
				j++
			}
			lits = append(lits, cur.String())
			cur.Reset()
			idx = append(idx, name[i:j])
			i = j
			continue
		}
		cur.WriteByte(name[i])
		i++
	}
	lits = append(lits, cur.String())
	return lits, idx
}

// group cuts names into patterns, sorted by key, each holding its names'
// vectors folded as ClusterShell folds them.
func group(names []string) []*pattern {
	byKey := map[string]*pattern{}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		lits, idx := split(n)
		key := strings.Join(lits, "%s")
		pt := byKey[key]
		if pt == nil {
			pt = &pattern{key: key, lits: lits}
			byKey[key] = pt
		}
		v := make(rvec, len(idx))
		for i, s := range idx {
			v[i] = rset{s}
		}
		pt.vecs = append(pt.vecs, v)
	}
	out := make([]*pattern, 0, len(byKey))
	for _, pt := range byKey {
		pt.fold()
		out = append(out, pt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (pt *pattern) fold() {
	dims := len(pt.lits) - 1
	if dims == 0 {
		pt.vecs = nil
		return
	}
	// When at most one dimension varies, one vector holds them all.
	varying := -1
	for d := 0; d < dims; d++ {
		first := pt.vecs[0][d][0]
		for _, v := range pt.vecs[1:] {
			if v[d][0] != first {
				if varying >= 0 && varying != d {
					pt.merge()
					return
				}
				varying = d
				break
			}
		}
	}
	one := make(rvec, dims)
	for d := range one {
		one[d] = pt.vecs[0][d]
	}
	if varying >= 0 {
		var all rset
		for _, v := range pt.vecs {
			all = append(all, v[varying][0])
		}
		sort.Slice(all, func(i, j int) bool { return idxLess(all[i], all[j]) })
		one[varying] = all
	}
	pt.vecs = []rvec{one}
}

func (v rvec) size() int {
	n := 1
	for _, r := range v {
		n *= len(r)
	}
	return n
}

// vecLess orders vectors as the merge passes need: more nodes first, then
// dimension by dimension larger sets first, then by first index and by
// last index (compared as text).
func vecLess(a, b rvec) bool {
	if sa, sb := a.size(), b.size(); sa != sb {
		return sa > sb
	}
	for d := range a {
		ra, rb := a[d], b[d]
		if len(ra) != len(rb) {
			return len(ra) > len(rb)
		}
		if ra[0] != rb[0] {
			return ra[0] < rb[0]
		}
		if la, lb := ra[len(ra)-1], rb[len(rb)-1]; la != lb {
			return la < lb
		}
	}
	return false
}

// relation of two index sets.
const (
	relEqual = iota
	relDisjoint
	relSub   // a ⊂ b
	relSuper // a ⊃ b
	relOverlap
)

func relate(a, b rset) int {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	common := 0
	for _, s := range a {
		if in[s] {
			common++
		}
	}
	switch {
	case common == len(a) && common == len(b):
		return relEqual
	case common == 0:
		return relDisjoint
	case common == len(a):
		return relSub
	case common == len(b):
		return relSuper
	}
	return relOverlap
}

func union(a, b rset) rset {
	out := append(append(rset{}, a...), b...)
	sort.Slice(out, func(i, j int) bool { return idxLess(out[i], out[j]) })
	return rset(dedupStrings(out))
}

// mergeVec merges two vectors that differ in at most one dimension.
func mergeVec(a, b rvec) (rvec, bool) {
	out := make(rvec, len(a))
	diff := 0
	for d := range a {
		switch relate(a[d], b[d]) {
		case relEqual:
			out[d] = a[d]
			continue
		case relDisjoint:
			out[d] = union(a[d], b[d])
		case relSub:
			out[d] = b[d]
		case relSuper:
			out[d] = a[d]
		default:
			return nil, false
		}
		if diff++; diff > 1 {
			return nil, false
		}
	}
	return out, true
}

// merge folds vectors that vary in several dimensions: sorted passes that
// merge neighbours differing in one dimension, then, once they stop
// changing anything, passes comparing every pair. This is the algorithm
// ClusterShell uses, so that folds agree with nodeset -f.
func (pt *pattern) merge() {
	vl := pt.vecs
	full, changed := false, true
	for changed {
		changed = false
		sort.SliceStable(vl, func(i, j int) bool { return vecLess(vl[i], vl[j]) })
		for i1 := 0; i1+1 < len(vl); {
			item1 := vl[i1]
			i2 := i1 + 1
			i1++
			for i2 < len(vl) {
				item2 := vl[i2]
				i2++
				if m, ok := mergeVec(item1, item2); ok {
					changed = true
					vl[i1-1], item1 = m, m
					i2--
					vl = append(vl[:i2], vl[i2+1:]...)
				} else if !full {
					break
				}
			}
		}
		if !changed && !full {
			changed, full = true, true
		}
	}
	pt.vecs = vl
}

// String folds one index set: runs of consecutive indexes of one padding
// become "a-b". An unpadded run never takes a padded index ("9", "010"),
// a padded run takes unpadded indexes of its width ("09", "10").
func (r rset) String() string {
	var b strings.Builder
	for i := 0; i < len(r); {
		width, pad := len(r[i]), padded(r[i])
		first, _ := strconv.ParseInt(r[i], 10, 64)
		last := first
		j := i + 1
		for ; j < len(r); j++ {
			s := r[j]
			if pad && len(s) != width || !pad && padded(s) {
				break
			}
			v, _ := strconv.ParseInt(s, 10, 64)
			if v != last+1 {
				break
			}
			last = v
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		w := 0
		if pad {
			w = width
		}
		if j == i+1 {
			b.WriteString(r[i])
		} else {
			fmt.Fprintf(&b, "%0*d-%0*d", w, first, w, last)
		}
		i = j
	}
	return b.String()
}

func (pt *pattern) strings(yield func(string)) {
	if len(pt.vecs) == 0 {
		yield(pt.key)
		return
	}
	for _, v := range pt.vecs {
		var b strings.Builder
		for d, r := range v {
			b.WriteString(pt.lits[d])
			if len(r) > 1 {
				b.WriteString("[" + r.String() + "]")
			} else {
				b.WriteString(r[0])
			}
		}
		b.WriteString(pt.lits[len(v)])
		yield(b.String())
	}
}

// Fold writes names as the shortest node set ClusterShell's nodeset -f
// writes: "node[1-3,7]", "web[01-10]", "r[1-2]n[1-3]", with zero-padding
// kept ("n[1,01]" for n1 and n01: they are different hosts). Names are
// grouped by their non-digit text and listed sorted by it; duplicates
// count once. Fold accepts any strings, but only names Expand accepts
// expand back to themselves.
func Fold(names []string) string {
	var parts []string
	for _, pt := range group(names) {
		pt.strings(func(s string) { parts = append(parts, s) })
	}
	return strings.Join(parts, ",")
}

// Sorted returns names, each once, in node-set order: the order in which
// nodeset -e lists them, and Expand(Fold(names)) gives them.
func Sorted(names []string) []string {
	var out []string
	for _, pt := range group(names) {
		if len(pt.vecs) == 0 {
			out = append(out, pt.key)
			continue
		}
		for _, v := range pt.vecs {
			var walk func(d int, prefix string)
			walk = func(d int, prefix string) {
				if d == len(v) {
					out = append(out, prefix+pt.lits[d])
					return
				}
				for _, s := range v[d] {
					walk(d+1, prefix+pt.lits[d]+s)
				}
			}
			walk(0, "")
		}
	}
	return out
}
