package gather

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wordCount(text string) string {
	var b strings.Builder
	for _, w := range strings.Fields(text) {
		b.WriteString(w + "\t1\n")
	}
	return b.String()
}

func TestReduceWordCount(t *testing.T) {
	texts := []string{
		"the quick brown fox",
		"jumps over the lazy dog",
		"",
		"the dog sleeps the fox runs",
	}
	for _, budget := range []int64{0, -1} {
		var buf bytes.Buffer
		tmp := t.TempDir()
		g := Reduce(&buf, Sum, &Options{MemoryBudget: budget, TempDir: tmp})
		for _, i := range []int{3, 0, 2, 1} {
			doStep(t, g, step{index: i, data: wordCount(texts[i])})
		}
		require.NoError(t, g.Close(len(texts), nil))
		assert.Equal(t, "brown\t1\ndog\t2\nfox\t2\njumps\t1\nlazy\t1\nover\t1\nquick\t1\nruns\t1\nsleeps\t1\nthe\t4\n", buf.String())
		assertNoFiles(t, tmp)
	}
}

func TestReduceChunkOrder(t *testing.T) {
	// Concatenation is not commutative: the result follows chunk order
	// and line order whatever the commit order.
	concat := func(key, acc, value string) (string, error) { return acc + value, nil }
	var buf bytes.Buffer
	g := Reduce(&buf, concat, &Options{Separator: "="})
	doStep(t, g, step{index: 2, data: "k=5\nj=z\n"})
	doStep(t, g, step{index: 1, data: "k=3\nk=4"}) // no final newline
	doStep(t, g, step{index: 0, data: "k=1\nk=2\nj=a=b\n"})
	require.NoError(t, g.Close(3, nil))
	assert.Equal(t, "j=a=bz\nk=12345\n", buf.String())
}

func TestReduceErrors(t *testing.T) {
	errFold := errors.New("fold failed")
	failOn := func(key, acc, value string) (string, error) {
		if value == "bad" {
			return "", errFold
		}
		return acc + value, nil
	}
	cases := []struct {
		name    string
		steps   []step
		wantErr error
		wantMsg string
	}{
		{name: "no separator", steps: []step{{index: 0, data: "a\t1\n"}, {index: 1, data: "b\t1\nc\t2\nnosep\n"}}, wantErr: ErrMalformed, wantMsg: "chunk 1 line 3"},
		{name: "empty line", steps: []step{{index: 0, data: "a\t1\n\nb\t2\n"}}, wantErr: ErrMalformed, wantMsg: "chunk 0 line 2"},
		{name: "fold error", steps: []step{{index: 0, data: "a\t1\na\tbad\n"}}, wantErr: errFold, wantMsg: `chunk 0 line 2 key "a"`},
		{name: "Sum of a non-number", steps: []step{{index: 0, data: "a\t1\na\tone\n"}}, wantErr: strconv.ErrSyntax, wantMsg: "chunk 0 line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			fold := failOn
			if tc.wantErr == strconv.ErrSyntax {
				fold = Sum
			}
			g := Reduce(&buf, fold, nil)
			last := len(tc.steps) - 1
			for _, s := range tc.steps[:last] {
				doStep(t, g, s)
			}
			s := tc.steps[last]
			s.wantErr = tc.wantErr
			doStep(t, g, s) // the commit that folds the bad line fails
			err := g.Close(len(tc.steps), nil)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Contains(t, err.Error(), tc.wantMsg)
			assert.Zero(t, buf.Len())
		})
	}
}
