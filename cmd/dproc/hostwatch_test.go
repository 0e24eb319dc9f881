package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/dispatch"
	"dproc/internal/joblog"
	"dproc/internal/nodeflags"
)

// fakeTarget records the host changes a hostWatcher makes.
type fakeTarget struct {
	hosts []string
	calls []string
}

func (f *fakeTarget) AddHosts(hosts ...string) error {
	for _, h := range hosts {
		f.calls = append(f.calls, "add "+h)
		f.hosts = append(f.hosts, h)
	}
	return nil
}

func (f *fakeTarget) RetireHost(host string) error {
	for i, h := range f.hosts {
		if h == host {
			if len(f.hosts) == 1 {
				return dispatch.ErrNoHosts
			}
			f.calls = append(f.calls, "retire "+h)
			f.hosts = append(f.hosts[:i:i], f.hosts[i+1:]...)
			return nil
		}
	}
	return dispatch.ErrUnknownHost
}

// TestHostWatcherPoll changes a hostfile between polls and checks what the
// watcher asks of the dispatcher and what it says.
func TestHostWatcherPoll(t *testing.T) {
	tests := []struct {
		name     string
		w, x     []string // -w and -x
		local    bool
		before   string // the hostfile when the run starts
		after    string // its new content; "" with remove: the file is gone
		remove   bool
		calls    []string
		hosts    []string // the watcher's hosts afterwards
		said     string   // the one line it says, "" for none
		slots    map[string]int
		startOut []string // the hosts the run started with (default: before's lines)
	}{
		{name: "gains one, loses one", before: "n1\nn2\n", after: "n1\nn3\n",
			calls: []string{"add n3", "retire n2"}, hosts: []string{"n1", "n3"}, said: "hostfile changed: added n3, retired n2"},
		{name: "comments and node sets", before: "n1 # first\n", after: "# now\nn[1-3]\n",
			calls: []string{"add n2", "add n3"}, hosts: []string{"n1", "n2", "n3"}, said: "hostfile changed: added n[2-3]"},
		{name: "hosts from -w stay", w: []string{"n9"}, before: "n1\n", after: "n2\n",
			startOut: []string{"n9", "n1"},
			calls:    []string{"add n2", "retire n1"}, hosts: []string{"n9", "n2"}, said: "hostfile changed: added n2, retired n1"},
		{name: "-x still applies", x: []string{"n3"}, before: "n1\n", after: "n1\nn3\nn4\n",
			calls: []string{"add n4"}, hosts: []string{"n1", "n4"}, said: "hostfile changed: added n4"},
		{name: "N/ slots reach the dispatcher", before: "n1\n", after: "n1\n4/n2\n",
			calls: []string{"add n2"}, hosts: []string{"n1", "n2"}, said: "hostfile changed: added n2", slots: map[string]int{"n2": 4}},
		{name: "ssh logins", before: "alice@n1:2222\n", after: "alice@n1:2222\nn2\n",
			calls: []string{"add n2"}, hosts: []string{"alice@n1:2222", "n2"}, said: "hostfile changed: added n2"},
		{name: "touched, same hosts", before: "n1\n", after: "n1 \n", hosts: []string{"n1"}},
		{name: "invalid keeps the hosts", before: "n1\n", after: "n[1-\n", hosts: []string{"n1"},
			said: "warning: --hostfile: HOSTS:1: column 2: unclosed '['"},
		{name: "emptied keeps the hosts", before: "n1\n", after: "# none\n", hosts: []string{"n1"},
			said: "warning: --hostfile: "},
		{name: "unreadable keeps the hosts", before: "n1\n", remove: true, hosts: []string{"n1"},
			said: "warning: --hostfile: "},
		{name: "local nodes take no user", local: true, before: "n1\n", after: "bob@n2\n", hosts: []string{"n1"},
			said: `warning: --hostfile: local node "bob@n2" takes no user or port; keeping the current hosts`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hosts")
			require.NoError(t, os.WriteFile(path, []byte(tt.before), 0o644))
			start := tt.startOut
			if start == nil {
				for _, l := range strings.Split(strings.TrimSpace(tt.before), "\n") {
					start = append(start, strings.TrimSpace(strings.Split(l, "#")[0]))
				}
			}
			target := &fakeTarget{hosts: append([]string(nil), start...)}
			var said []string
			say := func(format string, a ...any) { said = append(said, fmt.Sprintf(format, a...)) }
			flags := nodeflags.Flags{Hosts: tt.w, Hostfiles: []string{path}, Exclude: tt.x, Local: tt.local}
			slots := map[string]int{}
			w := newHostWatcher(flags, &nodeflags.Nodes{Hosts: start, Local: tt.local}, slots, target, say)

			w.poll()
			assert.Empty(t, target.calls, "nothing changed yet")
			// Make sure the new file's modification time differs.
			time.Sleep(10 * time.Millisecond)
			if tt.remove {
				require.NoError(t, os.Remove(path))
			} else {
				require.NoError(t, os.WriteFile(path, []byte(tt.after), 0o644))
			}
			w.poll()
			assert.Empty(t, target.calls, "a change is applied once it has stayed for one poll")
			w.poll()
			w.poll()
			w.poll()
			assert.Equal(t, tt.calls, target.calls)
			assert.Equal(t, tt.hosts, w.current)
			if tt.said == "" {
				assert.Empty(t, said)
			} else {
				require.Len(t, said, 1, "one line, said once: %q", said)
				assert.Contains(t, said[0], strings.ReplaceAll(tt.said, "HOSTS", path))
				if strings.HasPrefix(tt.said, "warning") {
					assert.True(t, strings.HasSuffix(said[0], "; keeping the current hosts"), said[0])
					assert.NotContains(t, said[0], "\n")
				}
			}
			if tt.slots != nil {
				assert.Equal(t, tt.slots, slots)
			}
		})
	}
}

// A hostfile that turns bad and then good again: one warning for the bad
// state, then the good one is applied.
func TestHostWatcherRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(path, []byte("n1\n"), 0o644))
	target := &fakeTarget{hosts: []string{"n1"}}
	var said []string
	w := newHostWatcher(nodeflags.Flags{Hostfiles: []string{path}}, &nodeflags.Nodes{Hosts: []string{"n1"}}, nil, target,
		func(format string, a ...any) { said = append(said, fmt.Sprintf(format, a...)) })
	for _, content := range []string{"n1\n[bad\n", "n2\n"} {
		time.Sleep(10 * time.Millisecond)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		for range 3 {
			w.poll()
		}
	}
	require.Len(t, said, 2, "%q", said)
	assert.Contains(t, said[0], "warning: --hostfile: "+path+":2: column 2: ")
	assert.Equal(t, "hostfile changed: added n2, retired n1", said[1])
	assert.Equal(t, []string{"add n2", "retire n1"}, target.calls)
}

// TestRunHostfileChanges runs dproc over local nodes named by a hostfile
// that gains a host and loses one while the run goes on: the new host
// takes work, the one that left stops taking it, and the output is the
// same as without the change.
func TestRunHostfileChanges(t *testing.T) {
	for _, progress := range []bool{true, false} {
		t.Run(fmt.Sprintf("progress %v", progress), func(t *testing.T) {
			dir := t.TempDir()
			runHostfileChange(t, progress, "--local", "--root", filepath.Join(dir, "nodes"))
		})
	}
}

// runHostfileChange runs dproc with flags on node1 and node2 of a
// hostfile, which node3 replaces once a few jobs are done, and checks the
// output and where the jobs ran. Each worker writes a line to standard
// error too, while the watcher writes its own. With progress, the report
// must show the change.
func runHostfileChange(t *testing.T, progress bool, flags ...string) {
	old := hostfilePoll
	hostfilePoll = 20 * time.Millisecond
	t.Cleanup(func() { hostfilePoll = old })

	dir := t.TempDir()
	hostfile := writeFile(t, dir, "hosts", "node1\nnode2\n")
	var b strings.Builder
	for i := range 48 {
		fmt.Fprintf(&b, "line %02d\n", i)
	}
	input := b.String()
	in := writeFile(t, dir, "in.txt", input)
	logPath := filepath.Join(dir, "joblog")

	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		// Once a few jobs are done, node3 replaces node2.
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			data, _ := os.ReadFile(logPath)
			if strings.Count(string(data), "\n") > 4 {
				// assert, not require: this is not the test's goroutine.
				assert.NoError(t, os.WriteFile(hostfile+".new", []byte("node1\n# node2 left\nnode3\n"), 0o644))
				assert.NoError(t, os.Rename(hostfile+".new", hostfile))
				return
			}
		}
	})
	args := append([]string{"run"}, flags...)
	if progress {
		args = append(args, "--progress")
	}
	r := dproc(t, "", append(args, "--hostfile", hostfile, "-j", "1",
		"--block", "8", "--joblog", logPath, "-a", in, "sleep 0.1; echo note >&2; tr a-z A-Z")...)
	close(done)
	wg.Wait()
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, strings.ToUpper(input), r.stdout, "the output is the same as an undisturbed run's")
	assert.Contains(t, r.stderr, "dproc: hostfile changed: added node3, retired node2\n")
	assert.Equal(t, 48, strings.Count(r.stderr, "note\n"), "every worker's line, whole")

	data, err := os.ReadFile(logPath)
	require.NoError(t, err)
	rows, err := joblog.Read(strings.NewReader(string(data)))
	require.NoError(t, err)
	require.Len(t, rows, 48)
	per := map[string]int{}
	for _, row := range rows {
		per[row.Host]++
	}
	assert.Positive(t, per["node3"], "the new host took work: %v", per)
	// Two hosts of one slot share 48 jobs about evenly; node2 left after
	// about 5 of them were done, so it ran only those it had started.
	assert.Less(t, per["node2"], 12, "the retired host stopped taking work: %v", per)
	assert.Equal(t, 48, per["node1"]+per["node2"]+per["node3"])
	if !progress {
		assert.NotContains(t, r.stderr, "(total)", "no report off a terminal without --progress")
		return
	}
	assert.Regexp(t, `(?m)^node2 \(retired\) +1 +`+fmt.Sprint(per["node2"])+` `, r.stderr, "the report marks the retired host")
	assert.Regexp(t, `(?m)^node3 +1 +`+fmt.Sprint(per["node3"])+` `, r.stderr)
}
