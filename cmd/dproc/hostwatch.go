package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"dproc/internal/hostsel"
	"dproc/internal/nodeflags"
)

// hostfilePoll is how often dproc run looks at its hostfiles: a change is
// applied at the second look that sees it, so within about a second.
var hostfilePoll = 500 * time.Millisecond

// hostTarget is what a hostWatcher changes: a running Dispatcher.
type hostTarget interface {
	AddHosts(hosts ...string) error
	RetireHost(host string) error
}

// hostWatcher follows the hostfiles of a run: when what they name changes
// (and has stayed the same for one poll, so that a file caught half
// written is not taken), it adds the new hosts to the dispatcher and
// retires the ones that left. Hosts named with -w stay, and -x still
// applies, since the new selection is made from all the node flags again.
type hostWatcher struct {
	flags  nodeflags.Flags
	local  bool                          // the hosts are local nodes: names only
	addDir func(host string) error       // local nodes: makes a new host's directory
	slots  map[string]int                // the dispatcher's Options.HostSlots, which AddHosts reads
	target hostTarget                    // the dispatcher
	say    func(format string, a ...any) // one line on standard error

	current []string // the hosts the dispatcher runs on, as the watcher last set them
	seen    []byte   // fingerprint of the hostfiles at the last poll
	applied []byte   // fingerprint of the hostfiles whose hosts were applied (or warned about)
}

// newHostWatcher returns a watcher for the hostfiles of flags, starting
// from hosts, the dispatcher's hosts, which flags' files named when read.
func newHostWatcher(flags nodeflags.Flags, nodes *nodeflags.Nodes, slots map[string]int, target hostTarget, say func(string, ...any)) *hostWatcher {
	w := &hostWatcher{flags: flags, local: nodes.Local, slots: slots, target: target, say: say,
		current: append([]string(nil), nodes.Hosts...)}
	if adder, ok := nodes.Transport.(interface{ AddHost(string) error }); ok && nodes.Local {
		w.addDir = adder.AddHost
	}
	w.seen = w.fingerprint()
	w.applied = w.seen
	return w
}

// fingerprint sums up the hostfiles as they are now: for each, its
// modification time, size and content, or why it could not be read.
func (w *hostWatcher) fingerprint() []byte {
	h := sha256.New()
	for _, path := range w.flags.Hostfiles {
		fmt.Fprintf(h, "%q\x00", path)
		st, err := os.Stat(path)
		if err != nil {
			fmt.Fprintf(h, "error %v\x00", err)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(h, "error %v\x00", err)
			continue
		}
		fmt.Fprintf(h, "%d %d %d\x00", st.ModTime().UnixNano(), st.Size(), len(data))
		h.Write(data)
	}
	return h.Sum(nil)
}

// start polls the hostfiles every hostfilePoll until the returned stop is
// called; stop waits for the last poll to end.
func (w *hostWatcher) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(hostfilePoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.poll()
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// poll looks at the hostfiles once, and applies a change seen at the
// previous poll too.
func (w *hostWatcher) poll() {
	fp := w.fingerprint()
	stable := bytes.Equal(fp, w.seen)
	w.seen = fp
	if !stable || bytes.Equal(fp, w.applied) {
		return
	}
	w.applied = fp
	want, err := w.selection()
	if err != nil {
		w.say("warning: %s; keeping the current hosts", oneLine(err))
		return
	}
	w.apply(want)
}

// selection returns the hosts the node flags name now, as the dispatcher
// names them, with their N/ slots.
func (w *hostWatcher) selection() ([]hostsel.Host, error) {
	sel, err := hostsel.Select(hostsel.Options{Hosts: w.flags.Hosts, Hostfiles: w.flags.Hostfiles, Exclude: w.flags.Exclude})
	if err != nil {
		return nil, fmt.Errorf("--hostfile: %w", err)
	}
	if w.local {
		for _, h := range sel {
			if h.User != "" || h.Port != 0 {
				return nil, fmt.Errorf("--hostfile: local node %q takes no user or port", h.Login())
			}
		}
	}
	return sel, nil
}

// key is how the dispatcher names h.
func (w *hostWatcher) key(h hostsel.Host) string {
	if w.local {
		return h.Name
	}
	return h.Login()
}

// apply adds the hosts of want the dispatcher lacks, then retires those
// it has and want lacks, and says what it did in one line.
func (w *hostWatcher) apply(want []hostsel.Host) {
	have := make(map[string]bool, len(w.current))
	for _, h := range w.current {
		have[h] = true
	}
	wanted := make(map[string]bool, len(want))
	var added, retired []string
	for _, h := range want {
		k := w.key(h)
		wanted[k] = true
		if have[k] {
			continue
		}
		if w.addDir != nil {
			if err := w.addDir(k); err != nil {
				w.say("warning: --hostfile: cannot add %s: %s", k, oneLine(err))
				continue
			}
		}
		if h.Slots > 0 && w.slots != nil {
			// AddHosts reads the slots of a new host from the
			// dispatcher's Options.HostSlots, this very map; only this
			// goroutine writes it, before AddHosts reads it.
			w.slots[k] = h.Slots
		}
		if err := w.target.AddHosts(k); err != nil {
			w.say("warning: --hostfile: cannot add %s: %s", k, oneLine(err))
			continue
		}
		added = append(added, k)
		w.current = append(w.current, k)
	}
	kept := w.current[:0:0]
	for _, h := range w.current {
		if wanted[h] {
			kept = append(kept, h)
			continue
		}
		if err := w.target.RetireHost(h); err != nil {
			w.say("warning: --hostfile: cannot retire %s: %s", h, oneLine(err))
			kept = append(kept, h)
			continue
		}
		retired = append(retired, h)
	}
	w.current = kept
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+hostsel.Fold(added))
	}
	if len(retired) > 0 {
		parts = append(parts, "retired "+hostsel.Fold(retired))
	}
	if len(parts) > 0 {
		w.say("hostfile changed: %s", strings.Join(parts, ", "))
	}
}

// lineSayer returns a say function that writes "dproc: " lines to out.
func lineSayer(out io.Writer) func(string, ...any) {
	return func(format string, a ...any) {
		fmt.Fprintf(out, "dproc: "+format+"\n", a...)
	}
}
