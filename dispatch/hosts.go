package dispatch

import (
	"errors"
	"fmt"
)

// This file holds the changes of a Dispatcher's hosts while it runs:
// AddHosts and RetireHost change the host list, and every run going on
// gets the change through its mailbox, which its scheduler drains.

// ErrUnknownHost is wrapped by the error of [Dispatcher.RetireHost] for a
// host the Dispatcher does not run on.
var ErrUnknownHost = errors.New("dispatch: unknown host")

// hostChange is one change of the host list, for the runs going on.
type hostChange struct {
	name   string
	slots  int
	retire bool
}

// AddHosts adds hosts to the Dispatcher. Each gets Options.HostSlots'
// count for it, or Options.Slots. Runs that start later use them, and so
// does every run going on: a new host is set up (Job.Setup) and pulls
// chunks at once, as the hosts given to New do. A name that is empty,
// repeated or already a host of the Dispatcher is an error wrapping
// [ErrInvalid], and then no host is added. A host retired from a run that
// is still going on and added again takes chunks in it again.
// Options.MaxLost's default stays what the hosts given to New made it.
// AddHosts is safe to call at any time, also during Runs.
func (d *Dispatcher) AddHosts(hosts ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := make(map[string]bool, len(d.hosts)+len(hosts))
	for _, h := range d.hosts {
		seen[h] = true
	}
	slots := make([]int, len(hosts))
	for i, h := range hosts {
		switch {
		case h == "":
			return fmt.Errorf("dispatch: %w: empty host name", ErrInvalid)
		case seen[h]:
			return fmt.Errorf("dispatch: %w: host %q is already a host of the dispatcher", ErrInvalid, h)
		}
		seen[h] = true
		slots[i] = d.opts.Slots
		if n := d.opts.HostSlots[h]; n > 0 {
			slots[i] = n
		}
	}
	for i, h := range hosts {
		d.hosts = append(d.hosts, h)
		d.slots = append(d.slots, slots[i])
		d.tell(hostChange{name: h, slots: slots[i]})
	}
	return nil
}

// RetireHost takes host out of the Dispatcher. Runs that start later do
// not use it. In every run going on it takes no new chunk (a
// [HostRetired] event says so): its running attempts finish, and their
// chunks commit as usual, or, if they fail or are lost, run again on the
// other hosts. It stays in those runs' reports. A host the Dispatcher
// does not run on is an error wrapping [ErrUnknownHost]; retiring the last
// host is an error, [ErrNoHosts], since a run would be left with none.
// RetireHost is safe to call at any time, also during Runs.
func (d *Dispatcher) RetireHost(host string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, h := range d.hosts {
		if h != host {
			continue
		}
		if len(d.hosts) == 1 {
			return fmt.Errorf("%w: cannot retire %q, the last host", ErrNoHosts, host)
		}
		d.hosts = append(d.hosts[:i:i], d.hosts[i+1:]...)
		d.slots = append(d.slots[:i:i], d.slots[i+1:]...)
		d.tell(hostChange{name: host, retire: true})
		return nil
	}
	return fmt.Errorf("%w %q", ErrUnknownHost, host)
}

// tell queues a change for every run going on. d.mu is held.
func (d *Dispatcher) tell(c hostChange) {
	for r := range d.runs {
		r.changeMu.Lock()
		r.changes = append(r.changes, c)
		r.changeMu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default: // already announced: the scheduler drains them all
		}
	}
}

// unregister ends r's part in host changes.
func (d *Dispatcher) unregister(r *run) {
	d.mu.Lock()
	delete(d.runs, r)
	d.mu.Unlock()
}

// addHost adds a host to the run's books (not yet set up).
func (r *run) addHost(name string, slots int) *hostState {
	h := &hostState{name: name, rep: HostReport{Host: name, Slots: slots}}
	r.hosts = append(r.hosts, h)
	r.byName[name] = h
	return h
}

// applyChanges applies the host changes queued since the last call, in
// order, on the scheduler goroutine.
func (r *run) applyChanges() {
	r.changeMu.Lock()
	changes := r.changes
	r.changes = nil
	r.changeMu.Unlock()
	for _, c := range changes {
		h := r.byName[c.name]
		switch {
		case c.retire && h != nil && !h.retired:
			h.retired = true
			h.rep.Retired = true
			r.ready.update(h)
			r.emit(Event{Kind: HostRetired, Host: h.name, Chunk: -1})
		case !c.retire && h == nil:
			r.setUp(r.addHost(c.name, c.slots))
		case !c.retire && h.retired:
			// Back before the run ended: it was set up already.
			h.retired = false
			h.rep.Retired = false
			r.ready.update(h)
		}
	}
	r.checkAllDown()
}
