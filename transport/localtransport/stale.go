package localtransport

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
)

// owner is the part of a temporary name that records the process that made
// it: its process id and, on Linux, its start time ("1234.56789"; the start
// time is 0 where it is unknown).
var owner = sync.OnceValue(func() string {
	pid := os.Getpid()
	st, _ := startTime(pid)
	return strconv.Itoa(pid) + "." + strconv.FormatUint(st, 10)
})

// ownerGone reports whether the process recorded as pid and start time in a
// temporary name has ended. A process that exists but belongs to another
// user counts as alive. A live process with the same id but another start
// time is a later process that reused the id: the owner is gone.
func ownerGone(pidText, startText string) bool {
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	start, err := strconv.ParseUint(startText, 10, 64)
	if err != nil {
		return false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	if start == 0 {
		return false
	}
	cur, ok := startTime(pid)
	return ok && cur != start
}

// sweep removes the entries of dir whose names match re (with the owner's
// pid and start time as its first two groups), that belong to this user and
// are of the wanted kind, and whose owner has ended. It is best effort:
// anything it cannot read or remove is left alone.
func sweep(dir string, re *regexp.Regexp, wantDir bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	uid := os.Getuid()
	for _, e := range entries {
		m := re.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() != wantDir || (!wantDir && !e.Type().IsRegular()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
			continue
		}
		if !ownerGone(m[1], m[2]) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if wantDir {
			_ = os.RemoveAll(p)
		} else {
			_ = os.Remove(p)
		}
	}
}

// MkdirTemp creates a new directory in dir, as [os.MkdirTemp] does, for use
// as the root of local hosts that lives as long as this process. Its name
// is prefix, this process's id and start time, and a random number, so that
// a later call can tell whose it is. Before creating it, MkdirTemp removes
// the directories in dir that an earlier MkdirTemp with the same prefix
// made for a process that has ended without removing them (it was killed),
// together with their contents. It never removes a directory of a process
// that is still running, nor one that belongs to another user. Process ids
// are checked in this process's PID namespace: programs in containers that
// share a temporary directory should use distinct prefixes. An empty dir
// means [os.TempDir]; prefix must not contain a path separator.
//
// The caller removes the directory when done, usually with [os.RemoveAll]
// after [Transport.Close].
func MkdirTemp(dir, prefix string) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `([0-9]+)\.([0-9]+)-[0-9]+$`)
	sweep(dir, re, true)
	return os.MkdirTemp(dir, prefix+owner()+"-*")
}

// putTempRE matches the temporary files of Put: "." + name + ".dproc-" +
// owner + "-" + random.
var putTempRE = regexp.MustCompile(`^\..*\.dproc-([0-9]+)\.([0-9]+)-[0-9]+$`)

// sweepPutTemps removes, once per directory and Transport, the temporary
// files that a Put of a process that has ended left in dir.
func (t *Transport) sweepPutTemps(dir string) {
	if _, done := t.swept.LoadOrStore(dir, true); done {
		return
	}
	sweep(dir, putTempRE, false)
}
