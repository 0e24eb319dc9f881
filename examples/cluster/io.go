package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dproc/gather"
	"dproc/split"
)

// outputBudget is the gatherer's reorder buffer: outputs that arrive
// ahead of their turn are held in memory up to this many bytes in all,
// and beyond it wait in temp files. It is small on purpose: with the
// default block size (up to 32 MiB a chunk) an early output outgrows a
// buffer of a few MiB and spills anyway, so a bigger buffer mostly adds
// its size to the coordinator's live heap (at 8 MiB it was 5-9 MiB of a
// 19-24 MiB peak live heap over SSH) and saves few disk writes.
const outputBudget = 2 << 20

// openOutput returns the gatherer for -out and the writer for the
// program's messages. "-" streams the result to stdout in chunk order as
// chunks commit (a failed run may leave a prefix there), and the messages
// then go to stderr so that they do not mix with the result. Any other
// name is a file written under a temp name and renamed into place only
// when the run succeeds; gather.File refuses a directory, a device or a
// missing directory before any work starts.
func openOutput(path string, stdout, stderr io.Writer) (gather.Gatherer, io.Writer, error) {
	opts := &gather.Options{MemoryBudget: outputBudget}
	if path == "-" {
		return gather.Ordered(stdout, opts), stderr, nil
	}
	g, err := gather.File(path, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("-out: %w", err)
	}
	return g, stdout, nil
}

// openInput opens -input: "-" is stdin, anything else a path. A regular
// file is read in place; a pipe, a FIFO, a device or a /proc file is
// streamed.
func openInput(path string, stdin io.Reader) (*split.Input, error) {
	if path == "-" {
		return split.NewInput("standard input", stdin, nil)
	}
	return split.OpenInput(path, nil)
}

// describeInput names the input and its size for the progress line.
func describeInput(in *split.Input) string {
	if in.Streamed() {
		return in.Name() + " (streamed)"
	}
	return fmt.Sprintf("%s (%d bytes)", in.Name(), in.Size())
}

// sameFile reports whether two paths name the same file: the same path
// once made absolute and clean, or, when both exist, the same file
// (a hard link, a symbolic link).
func sameFile(a, b string) bool {
	if absA, err := filepath.Abs(a); err == nil {
		if absB, err := filepath.Abs(b); err == nil && absA == absB {
			return true
		}
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
