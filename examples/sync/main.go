// Command sync copies a local directory to a directory on every node, like
// "rsync -a" run against each node over one connection per node: only
// changed files travel, modes, times and symbolic links are kept, and a stamp
// file on each node records when the sync ended and a digest of the tree.
//
//	go run ./examples/sync [-nodes a,b,c -ssh-config FILE] [-delete] [-checksum] SRC DST
//
// DST is relative to each node's home directory unless it is absolute; "~"
// and "~/x" name the home directory and its x, as with scp. Without -nodes
// it syncs to three local nodes (directories under a temporary root, or
// -root). It prints one row per node and exits with status 1 when any node
// could not be synced.
//
// With -delete, a DST that is, on a node, its home directory (an empty DST
// from an unset shell variable, ".", "~", the home's absolute path, a link
// to it), "/" or a directory above the home is refused before anything on
// that node changes: mirroring there would delete everything SRC lacks,
// ~/.ssh included. -allow-dangerous-delete says that this is meant.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"dproc/internal/cli"
	"dproc/internal/nodeflags"
	"dproc/nodeops"
)

func main() { cli.Main("sync", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sync [flags] SRC DST")
		fs.PrintDefaults()
	}
	nf := nodeflags.Register(fs)
	del := fs.Bool("delete", false, "delete files under DST that SRC does not have")
	checksum := fs.Bool("checksum", false, "compare files by SHA-256, not by size and modification time")
	dangerous := fs.Bool("allow-dangerous-delete", false, "with -delete, allow DST to be a node's home directory, / or a directory above the home\n(everything there that SRC lacks is deleted, ~/.ssh included)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("want two arguments: SRC DST")
	}
	src, dst := fs.Arg(0), fs.Arg(1)
	nodes, err := nf.Open()
	if err != nil {
		return err
	}
	defer nodes.Close()
	results := nodeops.SyncAll(ctx, nodes.Transport, nodes.Hosts, src, dst,
		&nodeops.SyncOptions{Delete: *del, Checksum: *checksum, AllowDangerousDelete: *dangerous})
	if err := writeTable(stdout, results); err != nil {
		return err
	}
	failed, refused := 0, 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
		if errors.Is(r.Err, nodeops.ErrDangerousDelete) {
			refused++
		}
	}
	if refused > 0 {
		fmt.Fprintf(stderr, "sync: -delete onto %q refused on %d of %d nodes: there it is the home directory, / or a directory above the home, "+
			"and everything SRC lacks (~/.ssh included) would be deleted; nothing was changed on those nodes.\n"+
			"Name a subdirectory (for example ~/work), or add -allow-dangerous-delete if that is really meant.\n",
			dst, refused, len(results))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d nodes could not be synced", failed, len(results))
	}
	return nil
}

// writeTable prints one aligned row per host.
func writeTable(w io.Writer, results []nodeops.Result[nodeops.SyncResult]) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSENT\tBYTES\tDELETED\tDIRS\tLINKS\tUPDATED\tUNCHANGED\tDIGEST\tERROR")
	for _, res := range results {
		r := res.Value
		digest, errText := r.Digest, ""
		if len(digest) > 12 {
			digest = digest[:12]
		}
		if res.Err != nil {
			digest, errText = "-", res.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.Host, r.FilesSent, r.BytesSent,
			r.FilesDeleted, r.DirsCreated, r.LinksMade, r.Updated, r.Unchanged, digest, errText)
	}
	if len(results) > 0 && len(results[0].Value.Skipped) > 0 {
		fmt.Fprintf(tw, "skipped (not regular files, directories or links): %q\n", results[0].Value.Skipped)
	}
	return tw.Flush()
}
