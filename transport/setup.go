package transport

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// SetupOptions configures [Setup]. A nil *SetupOptions means all defaults.
type SetupOptions struct {
	// Parallel is how many hosts are set up at once. Default: 8.
	Parallel int
}

// SetupResult says what [Setup] did on one host.
type SetupResult struct {
	InstallResult       // Host, and the files sent and skipped
	Err           error // nil when every file is in place with its mode
}

// Setup makes the working directory dir on every host and installs files in
// it, in parallel over hosts, and returns one result per host, in the order
// of hosts. A host that fails is a result with Err set; the others go on.
//
// On each host, each file whose content (by SHA-256) is not already there
// is written atomically with Put, which makes dir and its parents (see
// [Install]); then the files that were skipped are given their modes, so a
// file whose content was right but whose mode was not is fixed. Those modes
// are set blindly in one [ApplyTree] call rather than read first: reading
// them would list everything under dir, which may be a large tree such as
// the home directory, to save a chmod. A first set-up thus costs one
// round trip for the checksums plus one Put per file, and a repeated one two
// round trips. With no files, Setup only makes dir.
//
// Every File.Path must be relative and stay inside dir (no ".." element, and
// no leading "~", which names the home directory, not dir); otherwise every
// result has an error matching [ErrInvalid]. An empty dir, "~" and "~/" are
// the host's home directory, and "~/x" is its entry x (see the package doc
// on paths).
//
// A failed host's Err names the host once: "setup: " and then the error of
// the step that failed, such as "install: run on host "h": ..." (the
// transport's error names the host), or "setup on host "h": ..." when the
// error below does not name it.
func Setup(ctx context.Context, t Transport, hosts []string, dir string, files []File, opts *SetupOptions) []SetupResult {
	o := SetupOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	results := make([]SetupResult, len(hosts))
	for i, h := range hosts {
		results[i].Host = h
	}
	fail := func(err error) []SetupResult {
		for j := range results {
			results[j].Err = err
		}
		return results
	}
	dir, err := homeRel(dir)
	if err != nil {
		return fail(fmt.Errorf("setup: %w", err))
	}
	ops := make([]TreeOp, len(files))
	for i, f := range files {
		p := path.Clean(f.Path)
		err := checkRel(p, false)
		if err == nil && strings.HasPrefix(p, "~") {
			err = fmt.Errorf("path %q starts with ~, which would name the home directory, not a file in the working directory", f.Path)
		}
		if err != nil {
			return fail(fmt.Errorf("setup: %w: file %d: %s", ErrInvalid, i, err))
		}
		mode := f.Mode
		if mode.Perm() == 0 {
			mode |= 0o644
		}
		ops[i] = TreeOp{Kind: OpChmod, Path: p, Mode: mode}
	}
	forEach(len(hosts), o.Parallel, func(i int) {
		r := &results[i]
		if err := setupHost(ctx, t, r, dir, files, ops); err != nil {
			r.Err = withHost("setup", r.Host, err)
		}
	})
	return results
}

func setupHost(ctx context.Context, t Transport, r *SetupResult, dir string, files []File, ops []TreeOp) error {
	if len(files) == 0 {
		return applyChecked(ctx, t, r.Host, dir, nil) // makes dir
	}
	res, err := install(ctx, t, r.Host, dir, files)
	r.InstallResult = res
	if err != nil {
		return err
	}
	// Put gave the files it sent their permission bits; the skipped ones,
	// and any with setuid, setgid or sticky bits, need a chmod.
	sent := make(map[string]bool, len(res.Sent))
	for _, p := range res.Sent {
		sent[p] = true
	}
	var fix []TreeOp
	for i, f := range files {
		if !sent[f.Path] || unixMode(ops[i].Mode) != uint32(ops[i].Mode.Perm()) {
			fix = append(fix, ops[i])
		}
	}
	if len(fix) == 0 {
		return nil
	}
	return applyChecked(ctx, t, r.Host, dir, fix)
}
