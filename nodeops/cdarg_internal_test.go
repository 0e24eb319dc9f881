package nodeops

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The scripts of the shell fallback cd with one spelling of dir.
func TestCdArg(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"", "."},
		{"/srv/data", "/srv/data"},
		{"/", "/"},
		{"work", "./work"},
		{"-n", "./-n"},
		{"a b/c", "./a b/c"},
	} {
		assert.Equal(t, tc.want, cdArg(tc.dir), tc.dir)
	}
	assert.Equal(t, "", cdLine(""), "the home directory needs no cd")
	assert.Equal(t, "unset CDPATH\nmkdir -p -- ./-n && cd -- ./-n || exit 1\n", cdLine("-n"))
	assert.Contains(t, locateScript("-n x", 3, false), "cd -- './-n x' &&")
	assert.Contains(t, locateScript("", 3, false), "cd -- . &&")
	assert.Contains(t, treeScript("-n x", nil, "/home/u/-n x"), "cd -- './-n x' &&")
	assert.Contains(t, treeScript("/srv", nil, "/srv"), "cd -- /srv &&")
}
