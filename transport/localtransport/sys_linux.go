package localtransport

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// setDeathSignal asks the kernel to send SIGKILL to the command when the
// thread that started it exits, which happens at the latest when this
// process dies, however it dies.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// lockThread keeps the calling goroutine on its OS thread from before the
// command starts until it has been waited for. Linux delivers the death
// signal when the thread that forked the command exits, not the process,
// and the Go runtime ends a thread when a goroutine locked to it returns
// without unlocking it. While the goroutine that started the command holds
// the thread, no other goroutine can be scheduled on it, so no other
// goroutine can take it and end it.
func lockThread() { runtime.LockOSThread() }

func unlockThread() { runtime.UnlockOSThread() }

// startTime returns the start time of process pid in clock ticks since
// boot (field 22 of /proc/PID/stat), which tells a process from a later one
// that reused its process id.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	// After the command name: state (field 3) ... starttime (field 22).
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(f[19], 10, 64)
	return n, err == nil
}
