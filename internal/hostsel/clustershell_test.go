package hostsel

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nodesetTool returns the path of ClusterShell's nodeset. It skips the
// test when nodeset is missing, unless DPROC_REQUIRE_SSHD=1 (CI), where
// a missing tool fails the test.
func nodesetTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nodeset")
	if err != nil {
		if os.Getenv("DPROC_REQUIRE_SSHD") == "1" {
			t.Fatalf("nodeset (ClusterShell) not found and DPROC_REQUIRE_SSHD=1: %v", err)
		}
		t.Skipf("nodeset (ClusterShell) not found (set DPROC_REQUIRE_SSHD=1 to fail instead): %v", err)
	}
	return path
}

// runNodeset runs nodeset with args and stdin, and returns its stdout
// without the final newline.
func runNodeset(t *testing.T, tool string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return "", fmt.Errorf("nodeset %v: %w: %s", args, err, errb.String())
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}

// corpus generates node-set expressions from a fixed seed. Each entry
// starts with its own four-letter prefix, so that entries never share a
// pattern (and at most maxNames names): folding the union of all entries is then the entries' folds
// side by side, and one nodeset run checks them all.
func corpus(n, maxNames int) []string {
	rng := rand.New(rand.NewPCG(11, 2026))
	letters := "abcdefghijklmnopqrstuvwxyz"
	group := func() string {
		width := []int{0, 0, 0, 2, 3}[rng.IntN(5)]
		limit := 120
		if width == 2 {
			limit = 100
		}
		var parts []string
		for k := 0; k <= rng.IntN(3); k++ {
			a := rng.IntN(limit)
			switch rng.IntN(4) {
			case 0: // a single index
				parts = append(parts, fmt.Sprintf("%0*d", width, a))
			case 1: // a range with a step
				b := a + rng.IntN(limit-a)
				parts = append(parts, fmt.Sprintf("%0*d-%0*d/%d", width, a, width, b, 1+rng.IntN(4)))
			default:
				b := a + rng.IntN(min(limit-a, 15))
				parts = append(parts, fmt.Sprintf("%0*d-%0*d", width, a, width, b))
			}
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	lit := func() string {
		return []string{"n", "node", "-", ".", "x", "-ib", "r", "c", "_"}[rng.IntN(9)]
	}
	out := make([]string, n)
	for i := range out {
		prefix := "e" + string(letters[i/676%26]) + string(letters[i/26%26]) + string(letters[i%26])
	again:
		var items []string
		for k := 0; k <= rng.IntN(3); k++ {
			item := prefix + lit()
			dims := 1 + rng.IntN(3)
			for d := 0; d < dims; d++ {
				if d > 0 {
					item += lit()
				}
				if rng.IntN(5) == 0 {
					item += fmt.Sprint(rng.IntN(30)) // a fixed index
				} else {
					item += group()
				}
			}
			if rng.IntN(4) == 0 {
				item += ".dc"
			}
			items = append(items, item)
		}
		sep := []string{",", ", ", " , "}[rng.IntN(3)]
		out[i] = strings.Join(items, sep)
		// Keep entries small, so that the run stays quick.
		if names, err := Expand(out[i]); err != nil || len(names) > maxNames {
			goto again
		}
	}
	return out
}

// TestClusterShellCorpus checks Expand, Fold and Sorted against nodeset
// -e and -f on a few hundred generated node sets, some with names
// dropped so that several-number folds are partial.
func TestClusterShellCorpus(t *testing.T) {
	tool := nodesetTool(t)
	exprs := corpus(300, 120)
	rng := rand.New(rand.NewPCG(7, 7))
	var all []string
	for _, e := range exprs {
		names, err := Expand(e)
		require.NoError(t, err, e)
		if rng.IntN(2) == 0 {
			kept := names[:0:0]
			for _, n := range names {
				if rng.IntN(3) != 0 {
					kept = append(kept, n)
				}
			}
			names = kept
		}
		all = append(all, names...)
	}
	require.Greater(t, len(all), 5000, "the corpus is big enough to mean something")

	t.Run("expand", func(t *testing.T) {
		var ours []string
		for _, e := range exprs {
			names, err := Expand(e)
			require.NoError(t, err)
			ours = append(ours, names...)
		}
		out, err := runNodeset(t, tool, "", append([]string{"-e", "-S", `\n`}, exprs...)...)
		require.NoError(t, err)
		theirs := strings.Split(out, "\n")
		sort.Strings(ours)
		sort.Strings(theirs)
		assert.Equal(t, theirs, dedupStrings(ours))
	})
	t.Run("fold", func(t *testing.T) {
		out, err := runNodeset(t, tool, strings.Join(all, "\n")+"\n", "-f")
		require.NoError(t, err)
		got := Fold(all)
		if got != out {
			// Name the first entry that differs.
			ours, theirs := byEntry(got), byEntry(out)
			for _, k := range sortedKeys(theirs) {
				require.Equal(t, theirs[k], ours[k], "entry %s", k)
			}
			require.Equal(t, out, got)
		}
	})
	t.Run("sorted", func(t *testing.T) {
		out, err := runNodeset(t, tool, strings.Join(all, "\n")+"\n", "-e", "-S", `\n`)
		require.NoError(t, err)
		assert.Equal(t, strings.Split(out, "\n"), Sorted(all))
	})
}

// byEntry splits a fold by the corpus entries' four-letter prefixes.
func byEntry(fold string) map[string]string {
	m := map[string]string{}
	for _, part := range splitTop(fold) {
		k := part[:min(4, len(part))]
		if m[k] != "" {
			m[k] += ","
		}
		m[k] += part
	}
	return m
}

func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestClusterShellSmall checks cases the corpus cannot hold (names that
// start with digits, mixed widths of one pattern) one nodeset run each.
func TestClusterShellSmall(t *testing.T) {
	tool := nodesetTool(t)
	for _, expr := range []string{
		"10.0.[0-3].[1-20]",
		"[1-3],[01-03],[001-002]",
		"n[1-12],n[01-12],n[001-012]",
		"n[8-10,010],n[09-11]",
		"n[0,00,000,1,01]",
		"rack[1-3]-n[1-4],rack4-n[1-2],rack5-n[3,5]",
		"a[1-3]b[1-3]c[1-2],a4b1c1",
	} {
		t.Run(expr, func(t *testing.T) {
			names, err := Expand(expr)
			require.NoError(t, err)
			folded, err := runNodeset(t, tool, strings.Join(names, "\n")+"\n", "-f")
			require.NoError(t, err)
			assert.Equal(t, folded, Fold(names))
			expanded, err := runNodeset(t, tool, "", "-e", "-S", `\n`, expr)
			require.NoError(t, err)
			assert.ElementsMatch(t, strings.Split(expanded, "\n"), names)
		})
	}
}

// TestClusterShellRejects checks that what Expand refuses, nodeset refuses
// too.
func TestClusterShellRejects(t *testing.T) {
	tool := nodesetTool(t)
	for _, expr := range []string{"n[1-3", "n[1-2]]", "n[]", "n[1,,2]", "n[3-1]", "n[01-9]", "n[a-b]", "n[5/2]"} {
		t.Run(expr, func(t *testing.T) {
			_, err := Expand(expr)
			require.ErrorIs(t, err, ErrSyntax)
			_, err = runNodeset(t, tool, "", "-e", expr)
			assert.Error(t, err, "nodeset accepts %q", expr)
		})
	}
}
