//go:build unix

package gather

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with this pid exists: kill(pid,
// 0) fails with ESRCH only when there is none (EPERM means it exists but
// belongs to another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return !errors.Is(err, syscall.ESRCH)
}
