//go:build !linux

package localtransport

import "syscall"

// setDeathSignal does nothing where the kernel has no parent death signal;
// the watcher (see watcher.go) alone stops commands whose coordinator died.
func setDeathSignal(*syscall.SysProcAttr) {}

func lockThread()   {}
func unlockThread() {}

// startTime is unknown here: owners are told apart by process id alone.
func startTime(int) (uint64, bool) { return 0, false }
