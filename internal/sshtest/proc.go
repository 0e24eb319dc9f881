package sshtest

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// markerVar is the environment variable that tags every process of a node:
// sshd is started with it, and sshd_config SetEnv passes it to every session,
// so it survives a session process being re-parented to init.
const markerVar = "DPROC_SSHTEST_NODE"

// procInfo describes one live process found in /proc.
type procInfo struct {
	pid, ppid int
	cmdline   string // arguments joined by spaces
}

// listProcs returns the live (non-zombie) processes that carry the
// environment entry marker, plus every descendant of root (when root > 0).
// The calling process is never included.
func listProcs(marker string, root int) ([]procInfo, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	want := []byte(marker)
	all := make(map[int]procInfo, len(ents))
	tagged := make(map[int]bool)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		ppid, state, ok := readStat(pid)
		if !ok || state == 'Z' || state == 'X' {
			continue // gone or dead: a zombie does no work
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		p := procInfo{
			pid:     pid,
			ppid:    ppid,
			cmdline: strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))),
		}
		all[pid] = p
		if env, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil && hasEntry(env, want) {
			tagged[pid] = true
		}
	}
	if root > 0 {
		// Add descendants of root, in case a session cleared its environment.
		changed := true
		if _, ok := all[root]; ok {
			tagged[root] = true
		}
		for changed {
			changed = false
			for pid, p := range all {
				if !tagged[pid] && tagged[p.ppid] && p.ppid != 1 {
					tagged[pid] = true
					changed = true
				}
			}
		}
	}
	out := make([]procInfo, 0, len(tagged))
	for pid := range tagged {
		out = append(out, all[pid])
	}
	return out, nil
}

// hasEntry reports whether the NUL-separated environment env contains the
// exact entry kv.
func hasEntry(env, kv []byte) bool {
	for len(env) > 0 {
		i := bytes.IndexByte(env, 0)
		var ent []byte
		if i < 0 {
			ent, env = env, nil
		} else {
			ent, env = env[:i], env[i+1:]
		}
		if bytes.Equal(ent, kv) {
			return true
		}
	}
	return false
}

// readStat returns the parent pid and state letter of pid.
func readStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may contain anything; the
	// fields after the last ')' are "state ppid ...".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// signalAll sends sig to each pid, ignoring processes that already exited.
func signalAll(pids []int, sig syscall.Signal) error {
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// procSupported reports whether /proc exposes environments as this package
// needs.
func procSupported() bool {
	_, err := os.Stat("/proc/self/environ")
	return err == nil
}
