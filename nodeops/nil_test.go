package nodeops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/nodeops"
	"dproc/transport"
)

// Every node operation refuses a nil Transport with an error matching
// ErrInvalid that names the operation and the host once, instead of
// panicking.
func TestNilTransport(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	tree := nodeops.ShellTree(nil)
	ops := []transport.TreeOp{{Kind: transport.OpMkdir, Path: "d", Mode: 0o755}}
	one := func(errs ...error) []error { return errs }
	for _, tc := range []struct {
		name, op string
		call     func() []error
	}{
		{"Install", "install", func() []error {
			_, err := nodeops.Install(ctx, nil, "h1", "dir", []nodeops.File{{Path: "f"}})
			return one(err)
		}},
		{"Setup", "install", func() []error {
			var errs []error
			for _, r := range nodeops.Setup(ctx, nil, []string{"h1", "h1"}, "dir", nil, nil) {
				errs = append(errs, r.Err)
			}
			return errs
		}},
		{"Sync", "sync", func() []error {
			_, err := nodeops.Sync(ctx, nil, "h1", src, "dst", nil)
			return one(err)
		}},
		{"SyncAll", "sync", func() []error {
			var errs []error
			for _, r := range nodeops.SyncAll(ctx, nil, []string{"h1", "h1"}, src, "dst", nil) {
				assert.Equal(t, "h1", r.Value.Host)
				errs = append(errs, r.Err)
			}
			return errs
		}},
		{"ListTree", "listtree", func() []error {
			_, err := nodeops.ListTree(ctx, nil, "h1", "dir", true)
			return one(err)
		}},
		{"ApplyTree", "applytree", func() []error { return one(nodeops.ApplyTree(ctx, nil, "h1", "dir", ops)) }},
		{"Locate", "locate", func() []error {
			_, err := nodeops.Locate(ctx, nil, "h1", "dir")
			return one(err)
		}},
		{"ShellTree.ListTree", "listtree", func() []error {
			_, err := tree.ListTree(ctx, "h1", "dir", false)
			return one(err)
		}},
		{"ShellTree.ApplyTree", "applytree", func() []error { return one(tree.ApplyTree(ctx, "h1", "dir", ops)) }},
		{"ShellTree.Locate", "locate", func() []error {
			_, err := tree.(transport.Locator).Locate(ctx, "h1", "dir")
			return one(err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			require.NotPanics(t, func() { errs = tc.call() })
			require.NotEmpty(t, errs)
			for _, err := range errs {
				require.ErrorIs(t, err, transport.ErrInvalid)
				assert.Contains(t, err.Error(), tc.op+` on host "h1": invalid argument: nil Transport`)
				assert.Equal(t, 1, strings.Count(err.Error(), `"h1"`), "the host is named once in %q", err)
			}
		})
	}
}
