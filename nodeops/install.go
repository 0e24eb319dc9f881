package nodeops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"dproc/transport"
)

// File is one file to install in a directory on a host with [Install] or
// [Setup]: its Path (relative, inside the directory), Mode and Data.
type File = transport.File

// InstallResult says what [Install] did on one host. When Install fails, it
// says what was done before the failure.
type InstallResult struct {
	Host    string
	Sent    []string // paths written, as given in File.Path
	Skipped []string // paths already there with the same content
	Bytes   int64    // bytes sent
}

// Install makes the directory dir on host (its parents too) and makes sure
// every file in files is in it with its content and mode.
//
// Each file whose content (by SHA-256, see [transport.Checksums]) is not
// already there is written atomically with Put; then the files that were
// skipped are given their modes, so a file whose content was right but
// whose mode was not is fixed. Those modes are set blindly in one
// [ApplyTree] call rather than read first: reading them would list
// everything under dir, which may be a large tree such as the home
// directory, to save a chmod. A first install thus costs one round trip for
// the checksums plus one Put per file, and a repeated one two round trips.
// With no files, Install only makes dir. A mode of 0 means 0644.
//
// Every File.Path must be relative and stay inside dir: no ".." element,
// not absolute, and no leading "~" (which would name the home directory,
// not dir); otherwise Install fails with an error matching
// [transport.ErrInvalid] before contacting the host. A path is cleaned
// ("a/./b" is "a/b"). An empty dir, "~" and "~/" are the host's home
// directory, and "~/x" is its entry x (see the package doc on paths); to
// install files in two directories, install twice.
//
// The error names the host once: "install: " and then the error of the
// step that failed (the transport's error names the host), or
// "install on host "h": ..." when the error below does not name it.
func Install(ctx context.Context, t transport.Transport, host, dir string, files []File) (InstallResult, error) {
	res := InstallResult{Host: host}
	if t == nil {
		return res, nilTransport("install", host)
	}
	if err := install(ctx, t, &res, dir, files); err != nil {
		return res, withHost("install", host, err)
	}
	return res, nil
}

func install(ctx context.Context, t transport.Transport, r *InstallResult, dir string, files []File) error {
	dir, err := homeRel(dir)
	if err != nil {
		return err
	}
	ops := make([]transport.TreeOp, len(files))
	paths := make([]string, len(files))
	for i, f := range files {
		p := path.Clean(f.Path)
		err := checkRel(p, false)
		if err == nil && strings.HasPrefix(p, "~") {
			err = fmt.Errorf("path %q starts with ~, which would name the home directory, not a file in the directory", f.Path)
		}
		if err != nil {
			return errInvalid("file %d: %s", i, err)
		}
		mode := f.Mode
		if mode.Perm() == 0 {
			mode |= 0o644
		}
		ops[i] = transport.TreeOp{Kind: transport.OpChmod, Path: p, Mode: mode}
		paths[i] = hostPath(joinPath(dir, p))
	}
	if len(files) == 0 {
		return applyChecked(ctx, t, r.Host, dir, nil) // makes dir
	}
	sums, err := transport.Checksums(ctx, t, r.Host, paths)
	switch {
	case err == nil:
	case !errors.Is(err, fs.ErrNotExist):
		return err
	case len(sums) != len(files):
		// A missing file is one to send; when the transport does not
		// say which are missing, every file is.
		sums = make([]string, len(files))
	}
	// Put gives the files it sends their permission bits; the skipped
	// ones, and any with setuid, setgid or sticky bits, need a chmod.
	var fix []transport.TreeOp
	for i, f := range files {
		if sums[i] == f.Sum() {
			r.Skipped = append(r.Skipped, f.Path)
			fix = append(fix, ops[i])
			continue
		}
		if err := t.Put(ctx, r.Host, paths[i], bytes.NewReader(f.Data), f.Mode); err != nil {
			return err
		}
		r.Sent = append(r.Sent, f.Path)
		r.Bytes += int64(len(f.Data))
		if unixMode(ops[i].Mode) != uint32(ops[i].Mode.Perm()) {
			fix = append(fix, ops[i])
		}
	}
	if len(fix) == 0 {
		return nil
	}
	return applyChecked(ctx, t, r.Host, dir, fix)
}

// hostPath returns the relative path p so that nothing reads its leading
// "~" as the home directory: a file named "~x" inside the home directory is
// "./~x".
func hostPath(p string) string {
	if strings.HasPrefix(p, "~") {
		return "./" + p
	}
	return p
}

// SetupOptions configures [Setup]. A nil *SetupOptions means all defaults.
type SetupOptions struct {
	// Parallel is how many hosts are set up at once. Default: 8.
	Parallel int
}

// Setup is [Install] on every host of hosts, [SetupOptions.Parallel] at a
// time: it makes the working directory dir on each host and installs files
// in it, and returns one [Result] per host, in the order of hosts (see
// [Each]). A host that fails is a result with Err set; the others go on.
// Each Err is Install's error with "setup: " before it, so it names the
// host once.
func Setup(ctx context.Context, t transport.Transport, hosts []string, dir string, files []File, opts *SetupOptions) []Result[InstallResult] {
	o := SetupOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	res := Each(ctx, hosts, o.Parallel, func(ctx context.Context, host string) (InstallResult, error) {
		r, err := Install(ctx, t, host, dir, files)
		if err != nil {
			err = fmt.Errorf("setup: %w", err)
		}
		return r, err
	})
	for i := range res {
		res[i].Value.Host = res[i].Host
		if res[i].Err != nil && !mentionsHost(res[i].Err, res[i].Host) {
			// ctx ended before the host's turn.
			res[i].Err = &transport.OpError{Op: "setup", Host: res[i].Host, Err: res[i].Err}
		}
	}
	return res
}
